package berriz

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text checks an optional text typed by a person: it trims it, normalises
// line ends, and refuses invalid UTF-8, control characters (newlines and
// tabs too, unless multiline) and anything longer than max characters,
// recording the refusal on field in f (tooLong is the key of the length
// message, which names the field's own limit). It returns the clean text,
// or "" when refused.
func Text(f FieldErrors, field, v string, max int, multiline bool, tooLong string) string {
	v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
	if !utf8.ValidString(v) {
		f.Add(field, "error.invalid_text")
		return ""
	}
	for _, r := range v {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			f.Add(field, "error.invalid_text")
			return ""
		}
	}
	if utf8.RuneCountInString(v) > max {
		f.Add(field, tooLong)
		return ""
	}
	return v
}
