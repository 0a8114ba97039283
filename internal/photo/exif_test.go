package photo

import (
	"bytes"
	"encoding/binary"
	"image"
	"testing"
)

// tiff returns the TIFF body of exifPayload (after "Exif\0\0").
func tiff(order byteOrder, o uint16) []byte { return exifPayload(order, o)[6:] }

// patched returns a copy of b with p written at offset at.
func patched(b []byte, at int, p ...byte) []byte {
	c := append([]byte{}, b...)
	copy(c[at:], p)
	return c
}

// Offsets in tiff(): the header is 8 bytes, IFD0's count 2, its first
// entry (Make) 12, then the Orientation entry.
const (
	ifd0At        = 8
	orientationAt = ifd0At + 2 + 12
)

func TestTIFFOrientation(t *testing.T) {
	mm, ii := tiff(binary.BigEndian, 6), tiff(binary.LittleEndian, 8)
	for _, tc := range []struct {
		name string
		b    []byte
		want int
	}{
		{"big endian", mm, 6},
		{"little endian", ii, 8},
		{"nil", nil, 1},
		{"header only", mm[:8], 1},
		{"unknown byte order", patched(mm, 0, 'X', 'X'), 1},
		{"mixed byte order", patched(mm, 0, 'M', 'I'), 1},
		{"not 42", patched(mm, 2, 0, 43), 1},
		{"IFD0 inside the header", patched(mm, 4, 0, 0, 0, 4), 1},
		{"IFD0 at 0", patched(mm, 4, 0, 0, 0, 0), 1},
		{"IFD0 past the end", patched(mm, 4, 0, 0, 1, 0), 1},
		{"IFD0 at 4 GiB", patched(mm, 4, 0xFF, 0xFF, 0xFF, 0xFF), 1},
		{"IFD0 on the last byte", patched(mm, 4, 0, 0, 0, byte(len(mm)-1)), 1},
		{"no entries", patched(mm, ifd0At, 0, 0), 1},
		{"count beyond the data", patched(mm, ifd0At, 0xFF, 0xFF), 6},
		{"count stops before it", patched(mm, ifd0At, 0, 1), 1},
		{"value 0", patched(mm, orientationAt+8, 0, 0), 1},
		{"value 9", patched(mm, orientationAt+8, 0, 9), 1},
		{"value 65535", patched(mm, orientationAt+8, 0xFF, 0xFF), 1},
		{"value in the wrong half", patched(mm, orientationAt+8, 6, 0), 1},
		{"a LONG", patched(mm, orientationAt+2, 0, 4), 1},
		{"two SHORTs", patched(mm, orientationAt+4, 0, 0, 0, 2), 1},
		{"no SHORT", patched(mm, orientationAt+4, 0, 0, 0, 0), 1},
		{"another tag", patched(mm, orientationAt, 0x01, 0x13), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tiffOrientation(tc.b); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
	// Cut anywhere before the end of the Orientation entry, nothing is found.
	for n := range orientationAt + 12 {
		if got := tiffOrientation(mm[:n]); got != 1 {
			t.Errorf("cut at %d: got %d, want 1", n, got)
		}
	}
}

func TestJPEGOrientation(t *testing.T) {
	j := mustJPEG(t, 16, 16)
	app1 := withAPP1(j, exifPayload(binary.BigEndian, 3))
	xmp := withAPP1(j, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"))
	sos := bytes.Index(j, []byte{0xFF, 0xDA})
	for _, tc := range []struct {
		name string
		b    []byte
		want int
	}{
		{"exif", app1, 3},
		{"no exif", j, 1},
		{"exif after xmp", withAPP1(withAPP1(j, exifPayload(binary.BigEndian, 5)), []byte("http://ns.adobe.com/xap/1.0/\x00")), 5},
		{"xmp only", xmp, 1},
		{"first exif wins", withAPP1(app1, exifPayload(binary.LittleEndian, 7)), 7},
		{"fill bytes", append([]byte{0xFF, 0xD8, 0xFF, 0xFF, 0xFF}, app1[3:]...), 3},
		{"restart markers", append([]byte{0xFF, 0xD8, 0xFF, 0xD0, 0xFF, 0xD7}, app1[2:]...), 3},
		{"exif after the scan starts", append(append([]byte{}, j[:sos+2]...), app1[2:]...), 1},
		{"not a jpeg", []byte("RIFF\x00\x00\x00\x00WEBPExif\x00\x00MM"), 1},
		{"soi only", []byte{0xFF, 0xD8}, 1},
		{"no marker after soi", append([]byte{0xFF, 0xD8, 0x00}, app1[2:]...), 1},
		{"length 0", patched(app1, 4, 0, 0), 1},
		{"length 1", patched(app1, 4, 0, 1), 1},
		{"length past the end", patched(app1, 4, 0xFF, 0xFF), 1},
		{"exif header only", withAPP1(j, []byte("Exif\x00\x00")), 1},
		{"exif without its zeros", patched(app1, 10, 'x'), 1},
		{"GPS text for an IFD", withEXIF(j), 1},
		{"only restart markers", append([]byte{0xFF, 0xD8}, bytes.Repeat([]byte{0xFF, 0xD0}, 1<<20)...), 1},
		{"only fill bytes", append([]byte{0xFF, 0xD8}, bytes.Repeat([]byte{0xFF}, 1<<20)...), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := jpegOrientation(tc.b); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
	// Every truncation of a valid file answers 1 or the tag, never panics.
	for n := range len(app1) {
		if got := jpegOrientation(app1[:n]); got != 1 && got != 3 {
			t.Fatalf("cut at %d: got %d", n, got)
		}
	}
}

func TestOrientKeepsEveryPixel(t *testing.T) {
	src := mustImage(5, 3)
	for o := 1; o <= 8; o++ {
		dst := orient(src, o)
		w, h := dst.Bounds().Dx(), dst.Bounds().Dy()
		if (o >= 5) != (w == 3 && h == 5) || (o < 5) != (w == 5 && h == 3) {
			t.Errorf("orientation %d: %d×%d", o, w, h)
		}
		// Orientations are mirror images and quarter turns: the same pixels,
		// rearranged, none lost or repeated.
		count := map[[4]uint8]int{}
		for i := 0; i < len(src.Pix); i += 4 {
			count[[4]uint8(src.Pix[i:i+4])]++
		}
		for i := 0; i < len(dst.Pix); i += 4 {
			count[[4]uint8(dst.Pix[i:i+4])]--
		}
		for px, n := range count {
			if n != 0 {
				t.Errorf("orientation %d: pixel %v off by %d", o, px, n)
			}
		}
	}
	if orient(src, 0) != src || orient(src, 9) != src {
		t.Error("an invalid orientation changed the image")
	}
	sub := src.SubImage(image.Rect(1, 1, 4, 3)).(*image.RGBA)
	if got := orient(sub, 6); got.Bounds() != image.Rect(0, 0, 2, 3) || got.RGBAAt(1, 0) != src.RGBAAt(1, 1) {
		t.Errorf("a sub-image is read from its own origin: %v", got.Bounds())
	}
}

// The parser meets bytes as they come from an upload: whatever they are,
// it answers an orientation from 1 to 8, and orient copes with it.
func FuzzOrientation(f *testing.F) {
	j := mustJPEG(f, 8, 8)
	f.Add(withAPP1(j, exifPayload(binary.BigEndian, 6)))
	f.Add(withAPP1(j, exifPayload(binary.LittleEndian, 8)))
	f.Add(withEXIF(j))
	f.Add(exifPayload(binary.BigEndian, 2)[6:])
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II*\x00\x08\x00\x00\x00"))
	img := mustImage(3, 2)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range []int{jpegOrientation(data), tiffOrientation(data)} {
			if o < 1 || o > 8 {
				t.Fatalf("orientation %d", o)
			}
			if b := orient(img, o).Bounds(); b.Dx()*b.Dy() != 6 {
				t.Fatalf("orientation %d gave %v", o, b)
			}
		}
	})
}
