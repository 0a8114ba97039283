package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

func mustImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	return img
}

func mustJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, mustImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mustPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, mustImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withEXIF inserts an APP1 Exif segment carrying a GPS IFD marker right
// after the SOI marker, as a phone camera does.
func withEXIF(j []byte) []byte {
	return withAPP1(j, append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"), []byte("GPSLatitude 43.48N GPSLongitude 1.47W")...))
}

// withAPP1 inserts an APP1 segment holding payload right after the SOI
// marker of the JPEG j.
func withAPP1(j, payload []byte) []byte {
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, j[2:]...)
}

// byteOrder is what binary.BigEndian and binary.LittleEndian both offer.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// exifPayload is the body of an APP1 Exif segment as cameras write it: a
// TIFF header in the given byte order, IFD0 with Make and Orientation o,
// then GPS text that must not survive.
func exifPayload(order byteOrder, o uint16) []byte {
	b := []byte("Exif\x00\x00")
	if order == binary.LittleEndian {
		b = append(b, "II"...)
	} else {
		b = append(b, "MM"...)
	}
	b = order.AppendUint16(b, 42)
	b = order.AppendUint32(b, 8) // IFD0 right after the header
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 0x010F) // Make, ASCII, 4 bytes inline
	b = order.AppendUint16(b, 2)
	b = order.AppendUint32(b, 4)
	b = append(b, "Ph\x00\x00"...)
	b = order.AppendUint16(b, 0x0112) // Orientation, one SHORT
	b = order.AppendUint16(b, 3)
	b = order.AppendUint32(b, 1)
	b = order.AppendUint16(b, o)
	b = append(b, 0, 0)
	b = order.AppendUint32(b, 0) // no IFD1
	return append(b, "GPSLatitude 43.48N"...)
}

// withPNGChunk inserts a chunk after IHDR (8-byte signature + 25-byte IHDR).
func withPNGChunk(p []byte, typ string, data []byte) []byte {
	chunk := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(chunk, uint32(len(data)))
	copy(chunk[4:], typ)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := append([]byte{}, p[:33]...)
	out = append(out, chunk...)
	return append(out, p[33:]...)
}

// pngHeader is a PNG signature and an IHDR claiming w×h, with nothing after.
func pngHeader(w, h uint32) []byte {
	p := mustPNGBytes()
	binary.BigEndian.PutUint32(p[16:], w)
	binary.BigEndian.PutUint32(p[20:], h)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	return p
}

func mustPNGBytes() []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, mustImage(4, 4))
	return b.Bytes()
}

func TestProcessStripsEXIF(t *testing.T) {
	in := withEXIF(mustJPEG(t, 64, 48))
	if !bytes.Contains(in, []byte("Exif")) || !bytes.Contains(in, []byte("GPS")) {
		t.Fatal("fixture has no EXIF")
	}
	if _, err := jpeg.Decode(bytes.NewReader(in)); err != nil {
		t.Fatalf("fixture is not a valid JPEG: %v", err)
	}
	res, err := Process(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range [][]byte{res.Photo, res.Thumb} {
		if bytes.Contains(out, []byte("Exif")) || bytes.Contains(out, []byte("GPS")) || bytes.Contains(out, []byte{0xFF, 0xE1}) {
			t.Error("output keeps an APP1/Exif segment")
		}
	}
}

func TestProcessDropsPNGText(t *testing.T) {
	in := withPNGChunk(mustPNG(t, 40, 30), "tEXt", []byte("Comment\x00secret-location"))
	if _, err := png.Decode(bytes.NewReader(in)); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	res, err := Process(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(res.Photo, []byte("secret-location")) || bytes.Contains(res.Photo, []byte("tEXt")) {
		t.Error("output keeps the PNG text chunk")
	}
	if Sniff(res.Photo) != "jpeg" || res.SourceFormat != "png" {
		t.Errorf("output %q from %q, want jpeg from png", Sniff(res.Photo), res.SourceFormat)
	}
}

func TestProcessBoundsDimensions(t *testing.T) {
	for _, tc := range []struct{ w, h, pw, ph, tw, th int }{
		{3200, 1800, 1600, 900, ThumbW, ThumbH},
		{1000, 2000, 800, 1600, ThumbW, ThumbH},
		{200, 100, 200, 100, ThumbW, ThumbH},
		{1, 5000, 1, 1600, ThumbW, ThumbH},
	} {
		res, err := Process(mustPNG(t, tc.w, tc.h))
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range []struct {
			data []byte
			w, h int
		}{{res.Photo, tc.pw, tc.ph}, {res.Thumb, tc.tw, tc.th}} {
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(g.data))
			if err != nil || cfg.Width != g.w || cfg.Height != g.h {
				t.Errorf("%d×%d: got %d×%d (%v), want %d×%d", tc.w, tc.h, cfg.Width, cfg.Height, err, g.w, g.h)
			}
		}
	}
}

// Hostile and wrong files: a clear error each, never a panic.
func TestProcessRefuses(t *testing.T) {
	j := mustJPEG(t, 64, 64)
	svg := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>`)
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"zero bytes", nil, ErrEmpty},
		{"text named .jpg", []byte("hello, this is not an image at all\n"), ErrType},
		{"svg", svg, ErrType},
		{"pdf", []byte("%PDF-1.7\n%âãÏÓ\n"), ErrType},
		{"truncated jpeg", j[:len(j)/2], ErrCorrupt},
		{"jpeg header only", j[:4], ErrCorrupt},
		{"png bomb header", pngHeader(100000, 100000), ErrPixels},
		{"png just over budget", pngHeader(8000, 5001), ErrPixels},
		{"png zero width", pngHeader(0, 10), ErrCorrupt},
		{"too large", append(j, make([]byte, MaxBytes)...), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Process(tc.data)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// The fixture's stored image: four flat quadrants, so that each of the
// eight orientations puts a different colour in each corner.
var (
	red    = color.RGBA{220, 30, 30, 255}
	green  = color.RGBA{30, 180, 30, 255}
	blue   = color.RGBA{30, 30, 220, 255}
	yellow = color.RGBA{230, 220, 40, 255}
)

func mustQuadrantJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := [2][2]color.RGBA{{red, green}, {blue, yellow}}[y*2/h][x*2/w]
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// quadrants returns the colours at the centres of the four quadrants of
// r in img: top left, top right, bottom left, bottom right.
func quadrants(img image.Image, r image.Rectangle) [4]color.RGBA {
	var q [4]color.RGBA
	for i := range q {
		x := r.Min.X + r.Dx()*(1+2*(i%2))/4
		y := r.Min.Y + r.Dy()*(1+2*(i/2))/4
		q[i] = color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
	}
	return q
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int { return max(int(x), int(y)) - min(int(x), int(y)) }
	return d(a.R, b.R) < 48 && d(a.G, b.G) < 48 && d(a.B, b.B) < 48
}

// A photo stored sideways with its EXIF orientation comes out upright, in
// the photo and in the thumbnail, and still without EXIF.
func TestProcessAppliesEXIFOrientation(t *testing.T) {
	const w, h = 64, 32
	j := mustQuadrantJPEG(t, w, h)
	// What each orientation shows in the corners (TL, TR, BL, BR) of a
	// stored image whose quadrants are red, green / blue, yellow.
	want := map[uint16][4]color.RGBA{
		1: {red, green, blue, yellow},
		2: {green, red, yellow, blue}, // mirrored
		3: {yellow, blue, green, red}, // upside down
		4: {blue, yellow, red, green}, // mirrored vertically
		5: {red, blue, green, yellow}, // transposed
		6: {blue, red, yellow, green}, // turned clockwise
		7: {yellow, green, blue, red}, // transverse
		8: {green, yellow, red, blue}, // turned anticlockwise
	}
	for o := uint16(1); o <= 8; o++ {
		for _, order := range []byteOrder{binary.BigEndian, binary.LittleEndian} {
			t.Run(fmt.Sprintf("%d/%v", o, order), func(t *testing.T) {
				in := withAPP1(j, exifPayload(order, o))
				if got := jpegOrientation(in); got != int(o) {
					t.Fatalf("fixture reads as orientation %d", got)
				}
				res, err := Process(in)
				if err != nil {
					t.Fatal(err)
				}
				pw, ph := w, h
				thumbArea := image.Rect(0, 40, 320, 200) // 64×32 fitted in 320×240
				if o >= 5 {
					pw, ph = h, w
					thumbArea = image.Rect(100, 0, 220, 240) // 32×64 fitted
				}
				if res.Width != pw || res.Height != ph {
					t.Errorf("result says %d×%d, want %d×%d", res.Width, res.Height, pw, ph)
				}
				for _, out := range []struct {
					name string
					data []byte
					w, h int
					area image.Rectangle
				}{
					{"photo", res.Photo, pw, ph, image.Rect(0, 0, pw, ph)},
					{"thumbnail", res.Thumb, ThumbW, ThumbH, thumbArea},
				} {
					img, err := jpeg.Decode(bytes.NewReader(out.data))
					if err != nil {
						t.Fatalf("%s: %v", out.name, err)
					}
					if b := img.Bounds(); b.Dx() != out.w || b.Dy() != out.h {
						t.Errorf("%s is %d×%d, want %d×%d", out.name, b.Dx(), b.Dy(), out.w, out.h)
						continue
					}
					got := quadrants(img, out.area)
					for i := range got {
						if !near(got[i], want[o][i]) {
							t.Errorf("%s: corner %d is %v, want %v (all: %v)", out.name, i, got[i], want[o][i], got)
						}
					}
					if bytes.Contains(out.data, []byte("Exif")) || bytes.Contains(out.data, []byte("GPS")) || bytes.Contains(out.data, []byte{0xFF, 0xE1}) {
						t.Errorf("%s keeps an APP1/Exif segment", out.name)
					}
				}
			})
		}
	}
}

func FuzzProcess(f *testing.F) {
	f.Add(mustPNGBytes())
	f.Add(withAPP1(mustQuadrantJPEG(f, 16, 8), exifPayload(binary.LittleEndian, 6)))
	f.Add([]byte("\xff\xd8\xff\xe0"))
	f.Add(pngHeader(10, 10))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Process(data) // must not panic
	})
}
