package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v5"
)

// The gzip middleware: Echo's (middleware.GzipWithConfig), the same
// behaviour line for line, on klauspost/compress's deflate instead of the
// standard library's, which cost the device page a sixth of its CPU
// (docs/benchmarks.md). What it keeps from Echo's: Vary: Accept-Encoding
// on every answer it sees, answers under minLength sent as they are, no
// Content-Encoding on bodiless answers (304, redirects, HEAD), the
// Content-Length dropped once compressing, the status held back until the
// first bytes decide, Flush forcing compression. What it does better:
// "gzip;q=0" is a refusal, as for static files (acceptsGzip), Write
// reports the caller's bytes, and a stream flushed before its first byte
// still ends with a valid gzip trailer.

// gzipLevel is the deflate level of dynamic answers, chosen by
// measurement: docs/benchmarks.md, "gzip".
const gzipLevel = gzip.BestSpeed

// gzipSkip are the paths the middleware leaves alone: static files are
// stored pre-compressed (static.go); metrics and probes are tiny or read
// by a scraper.
func gzipSkip(p string) bool {
	return len(p) >= 8 && p[:8] == "/static/" || p == "/metrics" || p == "/healthz" || p == "/readyz"
}

// gzipMinLength: an answer that fits one TCP segment (~1,400 bytes of
// payload on a 1,500-byte MTU) costs one packet compressed or not:
// compressing it saves the network nothing and costs the server the
// compressor's setup and flush, a good part of a small JSON answer's CPU
// (docs/benchmarks.md). Beyond one segment, every byte saved counts
// (ECODESIGN.md).
const gzipMinLength = 1400

var gzipWriters = sync.Pool{New: func() any {
	zw, err := gzip.NewWriterLevel(io.Discard, gzipLevel)
	if err != nil {
		panic(err) // a constant level: only a programming error
	}
	return &gzipResponseWriter{zw: zw}
}}

// gzipMiddleware compresses answers for clients that accept gzip.
func gzipMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if gzipSkip(c.Request().URL.Path) {
			return next(c)
		}
		rw := c.Response()
		rw.Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
		if !acceptsGzip(c.Request()) {
			return next(c)
		}
		w := gzipWriters.Get().(*gzipResponseWriter)
		w.ResponseWriter = rw
		c.SetResponse(w)
		defer func() {
			w.finish()
			c.SetResponse(rw)
			w.ResponseWriter = nil
			gzipWriters.Put(w)
		}()
		return next(c)
	}
}

// gzipResponseWriter holds the answer back until gzipMinLength bytes
// decide whether it is compressed.
type gzipResponseWriter struct {
	http.ResponseWriter
	zw          *gzip.Writer
	buf         bytes.Buffer
	code        int
	wroteHeader bool
	wroteBody   bool
	compressing bool
}

func (w *gzipResponseWriter) WriteHeader(code int) {
	w.Header().Del(echo.HeaderContentLength) // Echo's issue #444
	w.wroteHeader = true
	w.code = code
}

func (w *gzipResponseWriter) Write(b []byte) (int, error) {
	h := w.Header()
	if h.Get(echo.HeaderContentType) == "" {
		h.Set(echo.HeaderContentType, http.DetectContentType(b))
	}
	w.wroteBody = true
	if w.compressing {
		return w.zw.Write(b)
	}
	w.buf.Write(b)
	if w.buf.Len() < gzipMinLength {
		return len(b), nil
	}
	if err := w.startCompressing(); err != nil {
		return 0, err
	}
	return len(b), nil
}

// startCompressing sends the held status with Content-Encoding and
// compresses what was held.
func (w *gzipResponseWriter) startCompressing() error {
	w.compressing = true
	h := w.Header()
	h.Set(echo.HeaderContentEncoding, "gzip") // Echo's issue #806
	h.Del(echo.HeaderContentLength)
	if w.wroteHeader {
		w.ResponseWriter.WriteHeader(w.code)
	}
	w.zw.Reset(w.ResponseWriter)
	_, err := w.zw.Write(w.buf.Bytes())
	w.buf.Reset()
	return err
}

// finish ends the answer once the handler returned: the gzip trailer, or
// what was held sent as is.
func (w *gzipResponseWriter) finish() {
	switch {
	case w.compressing:
		_ = w.zw.Close()
		w.zw.Reset(io.Discard) // let go of the connection's writer
	case !w.wroteBody:
		// No body (304, redirect, HEAD, or an error the error handler
		// writes after this middleware returns): no encoding to declare.
		if w.Header().Get(echo.HeaderContentEncoding) == "gzip" {
			w.Header().Del(echo.HeaderContentEncoding)
		}
		if w.wroteHeader {
			w.ResponseWriter.WriteHeader(w.code)
		}
	default:
		if w.wroteHeader {
			w.ResponseWriter.WriteHeader(w.code)
		}
		_, _ = w.ResponseWriter.Write(w.buf.Bytes())
	}
	if w.buf.Cap() > 64<<10 {
		w.buf = bytes.Buffer{} // a large answer's buffer is not kept in the pool
	}
	w.buf.Reset()
	w.code, w.wroteHeader, w.wroteBody, w.compressing = 0, false, false, false
}

// Flush sends what was written so far; as in Echo's, a flushed answer is
// compressed whatever its length, since more may follow.
func (w *gzipResponseWriter) Flush() {
	if !w.compressing {
		_ = w.startCompressing()
	}
	_ = w.zw.Flush()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *gzipResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets echo.UnwrapResponse and http.ResponseController reach the
// connection's writer.
func (w *gzipResponseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
