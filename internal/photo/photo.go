// Package photo owns what berriz accepts as a device photo and what it
// keeps of it: the bytes are checked by content (never by name or declared
// type), the dimensions are read from the header and refused beyond a pixel
// budget before anything is decoded (decompression bombs), and the image is
// decoded, resized and re-encoded as a fresh JPEG. Re-encoding keeps pixels
// only, so EXIF (GPS included), XMP, ICC profiles, comments and PNG text
// chunks are all gone. A JPEG's EXIF orientation (how a phone says to
// turn what its sensor stored) is read first and applied to the pixels, so
// a photo shot sideways is kept upright (exif.go).
package photo

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Limits of an accepted photo and sizes of what is kept.
const (
	MaxBytes  = 8_000_000  // an upload, in bytes (8 MB)
	MaxPixels = 40_000_000 // width × height read from the header
	MaxSide   = 1600       // long side of the kept photo, in pixels
	// The thumbnail's fixed 4:3 frame, so that pages give every thumbnail
	// the same explicit width and height.
	ThumbW      = 320
	ThumbH      = 240
	JPEGQuality = 82
	ContentType = "image/jpeg"
)

// Errors of the package; the server maps them to form errors.
var (
	ErrEmpty    = errors.New("photo: empty file")
	ErrTooLarge = errors.New("photo: file too large")
	ErrType     = errors.New("photo: not a JPEG, PNG or WebP image")
	ErrPixels   = errors.New("photo: too many pixels")
	ErrCorrupt  = errors.New("photo: unreadable image")
)

// Result is a re-encoded photo and its thumbnail, both JPEG.
type Result struct {
	Photo, Thumb   []byte
	Width, Height  int // of Photo, upright (after the EXIF orientation)
	ThumbW, ThumbH int
	SourceFormat   string // jpeg, png or webp
}

// Sniff returns the format of data judged by its content: "jpeg", "png",
// "webp" or "" for anything else.
func Sniff(data []byte) string {
	switch http.DetectContentType(data) {
	case "image/jpeg":
		return "jpeg"
	case "image/png":
		return "png"
	case "image/webp":
		return "webp"
	}
	return ""
}

func decodeConfig(format string, data []byte) (image.Config, error) {
	r := bytes.NewReader(data)
	switch format {
	case "jpeg":
		return jpeg.DecodeConfig(r)
	case "png":
		return png.DecodeConfig(r)
	default:
		return webp.DecodeConfig(r)
	}
}

func decode(format string, data []byte) (image.Image, error) {
	r := bytes.NewReader(data)
	switch format {
	case "jpeg":
		return jpeg.Decode(r)
	case "png":
		return png.Decode(r)
	default:
		return webp.Decode(r)
	}
}

// Process checks an uploaded photo and returns it resized to at most
// MaxSide pixels on its long side and a ThumbW×ThumbH thumbnail (the
// photo fitted inside, on white), both turned upright as the JPEG's EXIF
// orientation says and re-encoded as JPEG without any metadata. It never
// panics on hostile input: every failure is one of the package's errors.
func Process(data []byte) (res Result, err error) {
	switch {
	case len(data) == 0:
		return Result{}, ErrEmpty
	case len(data) > MaxBytes:
		return Result{}, ErrTooLarge
	}
	format := Sniff(data)
	if format == "" {
		return Result{}, ErrType
	}
	cfg, err := decodeConfig(format, data)
	if err != nil {
		return Result{}, ErrCorrupt
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Result{}, ErrCorrupt
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return Result{}, ErrPixels
	}
	defer func() {
		// The decoders are meant not to panic on bad input; a photo is not
		// worth a crashed request if one does.
		if r := recover(); r != nil {
			res, err = Result{}, ErrCorrupt
		}
	}()
	img, err := decode(format, data)
	if err != nil {
		return Result{}, ErrCorrupt
	}
	// Turning after scaling gives the same pixels as before (Fit is
	// symmetric) at a fraction of the memory: a 40-megapixel upload would
	// otherwise need a second full-size copy.
	o := 1
	if format == "jpeg" {
		o = jpegOrientation(data)
	}
	full := orient(scale(img, MaxSide), o)
	w, h := full.Bounds().Dx(), full.Bounds().Dy()
	thumb := frame(full, ThumbW, ThumbH)
	res = Result{Width: w, Height: h, ThumbW: ThumbW, ThumbH: ThumbH, SourceFormat: format}
	if res.Photo, err = encode(full); err != nil {
		return Result{}, err
	}
	if res.Thumb, err = encode(thumb); err != nil {
		return Result{}, err
	}
	return res, nil
}

// Fit returns the size of a w×h image scaled down to at most side pixels
// on its long side (never scaled up, never below 1 pixel).
func Fit(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, int(int64(h)*int64(side)/int64(w)))
	}
	return max(1, int(int64(w)*int64(side)/int64(h))), side
}

// scale draws img onto a fresh opaque RGBA canvas (white under any
// transparency, which JPEG cannot keep) of at most side pixels.
func scale(img image.Image, side int) *image.RGBA {
	b := img.Bounds()
	w, h := Fit(b.Dx(), b.Dy(), side)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	if w == b.Dx() && h == b.Dy() {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Over)
	} else {
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Over, nil)
	}
	return dst
}

// frame fits img, scaled down or up, inside a w×h white canvas, centred.
func frame(img image.Image, w, h int) image.Image {
	b := img.Bounds()
	fw, fh := w, max(1, b.Dy()*w/b.Dx())
	if fh > h {
		fw, fh = max(1, b.Dx()*h/b.Dy()), h
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	x, y := (w-fw)/2, (h-fh)/2
	draw.CatmullRom.Scale(dst, image.Rect(x, y, x+fw, y+fh), img, b, draw.Over, nil)
	return dst
}

func encode(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: JPEGQuality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
