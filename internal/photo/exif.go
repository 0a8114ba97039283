package photo

import (
	"bytes"
	"encoding/binary"
	"image"
)

// Phones store a photo the way the sensor read it and record in the EXIF
// Orientation tag how to turn it for display. Re-encoding drops EXIF, so
// the turn is applied to the pixels instead. The parser below reads that
// one tag from the JPEG's first APP1 Exif segment: it walks the markers and
// IFD0 only, by slicing the upload (never allocating a size read from it),
// and every loop moves forward through bounded data, so hostile bytes can
// only make it answer 1 (as stored).

// tagOrientation is the EXIF (TIFF) tag number of Orientation; its value
// is a SHORT from 1 to 8.
const tagOrientation = 0x0112

// jpegOrientation returns the EXIF Orientation of a JPEG file, 1 when the
// file has none or anything about it is malformed.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return 1 // not at a marker: the header is damaged
		}
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte before a marker
			i++
			continue
		case m == 0xD9 || m == 0xDA: // end of image, start of scan: metadata comes before
			return 1
		case m == 0x01 || m >= 0xD0 && m <= 0xD7: // markers without a length
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(data[i+2:])) // counts its own two bytes
		if n < 2 || n > len(data)-i-2 {
			return 1
		}
		seg := data[i+4 : i+2+n]
		if m == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n // other segments, XMP's APP1 included
	}
	return 1
}

// tiffOrientation returns the Orientation found in IFD0 of the TIFF
// structure b (the body of an Exif segment), either byte order, or 1.
func tiffOrientation(b []byte) int {
	if len(b) < 8 {
		return 1
	}
	var order binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1
	}
	if order.Uint16(b[2:]) != 42 {
		return 1
	}
	off := uint64(order.Uint32(b[4:]))
	if off < 8 || off+2 > uint64(len(b)) {
		return 1
	}
	count := int(order.Uint16(b[off:])) // at most 65535
	entries := b[off+2:]
	for i := 0; i < count && 12*i+12 <= len(entries); i++ {
		e := entries[12*i : 12*i+12] // tag, type, count, value
		if order.Uint16(e) != tagOrientation {
			continue
		}
		if order.Uint16(e[2:]) != 3 || order.Uint32(e[4:]) != 1 { // one SHORT
			return 1
		}
		if v := int(order.Uint16(e[8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// orient returns src turned and flipped as EXIF orientation o asks, for
// display; 5 to 8 swap the width and the height. Any other o returns src.
func orient(src *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return src
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			var sx, sy int // the source pixel shown at (x, y)
			switch o {
			case 2: // mirrored left to right
				sx, sy = w-1-x, y
			case 3: // upside down
				sx, sy = w-1-x, h-1-y
			case 4: // mirrored top to bottom
				sx, sy = x, h-1-y
			case 5: // transposed
				sx, sy = y, x
			case 6: // turned a quarter anticlockwise: turn it clockwise
				sx, sy = y, h-1-x
			case 7: // transposed across the other diagonal
				sx, sy = w-1-y, h-1-x
			case 8: // turned a quarter clockwise: turn it anticlockwise
				sx, sy = w-1-y, x
			}
			si := src.PixOffset(b.Min.X+sx, b.Min.Y+sy)
			di := dst.PixOffset(x, y)
			copy(dst.Pix[di:di+4], src.Pix[si:si+4])
		}
	}
	return dst
}
