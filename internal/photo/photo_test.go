package photo

import (
	"bytes"
	"encoding/binary"
	"errors"
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

func mustJPEG(t *testing.T, w, h int) []byte {
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
	payload := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"), []byte("GPSLatitude 43.48N GPSLongitude 1.47W")...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, j[2:]...)
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

func FuzzProcess(f *testing.F) {
	f.Add(mustPNGBytes())
	f.Add([]byte("\xff\xd8\xff\xe0"))
	f.Add(pngHeader(10, 10))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Process(data) // must not panic
	})
}
