package erasure

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/berriz"
)

// MaxLogBytes bounds a tool's log or report: an nwipe log of a day's work
// is a few hundred kilobytes, a Blancco PDF report well under one
// megabyte.
const MaxLogBytes = 10_000_000

// Content types of the logs kept.
const (
	LogPDF  = "application/pdf"
	LogText = "text/plain; charset=utf-8"
)

// CheckLog says what an uploaded log is, by its content and never by its
// name: a PDF (the %PDF- signature) or UTF-8 text without NUL bytes (a
// tool's log file). It returns the content type to store it with and the
// file extension of its storage key; an empty file, anything else (an
// image renamed .log, a binary dump) and anything beyond MaxLogBytes are
// refused, the last as TooLarge.
func CheckLog(data []byte) (contentType, ext string, err error) {
	switch {
	case len(data) == 0:
		return "", "", berriz.FieldErrors{FieldLog: "erasure.error.log_empty"}.Err()
	case len(data) > MaxLogBytes:
		return "", "", LogTooLarge()
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return LogPDF, ".pdf", nil
	case utf8.Valid(data) && bytes.IndexByte(data, 0) < 0:
		return LogText, ".txt", nil
	}
	return "", "", berriz.FieldErrors{FieldLog: "erasure.error.log_type"}.Err()
}

// LogTooLarge is the refusal of a log beyond MaxLogBytes, saying the
// limit.
func LogTooLarge() *berriz.Error {
	return berriz.E(berriz.TooLarge, "erasure.error.log_too_large").WithArg("mb", strconv.Itoa(MaxLogBytes/1_000_000))
}
