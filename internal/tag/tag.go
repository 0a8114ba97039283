// Package tag owns the QR tag codes of DOMAIN.md: 8 characters of Crockford
// base32 (40 random bits), printed as 7KQ2-M9XD and encoded in QR codes as
// <public URL>/t/<code>. It parses what people and scanners type (any case,
// with or without the dash, a whole URL) and generates new codes from a
// random source. Standard library only, no I/O beyond the given reader.
package tag

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/berriz/berriz/internal/berriz"
)

// Alphabet is Crockford's base32: no I, L, O or U, so that a code read
// aloud or typed from a worn label cannot be mistaken for another.
const Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Len is the number of characters of a code (40 bits).
const Len = 8

// Code is a valid tag code in canonical form: 8 upper-case characters of
// Alphabet, without the dash.
type Code string

// errCode is the one error every malformed input gets: the user fixes the
// code, whatever was wrong with it.
func errCode() error { return berriz.E(berriz.Invalid, "error.tag_code") }

// maxInput bounds what Parse looks at: no URL of ours is longer, and a
// pasted novel should not cost a URL parse.
const maxInput = 2048

// Parse reads a code as a person or a scanner gives it: surrounding spaces,
// any case, with or without the dash (Crockford hyphens are ignored
// anywhere), or a whole URL (http or https, any host) whose path ends in
// /t/<code>, optionally followed by a slash, a query or a fragment.
// Crockford's decoding rules for typed input apply: I and L read as 1, O as
// 0. U and every other character are refused with an Invalid error keyed
// error.tag_code.
func Parse(s string) (Code, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxInput {
		return "", errCode()
	}
	if strings.Contains(s, "/") {
		seg, ok := pathCode(s)
		if !ok {
			return "", errCode()
		}
		s = seg
	}
	var b [Len]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			continue
		}
		if n == Len {
			return "", errCode()
		}
		v, ok := decode(c)
		if !ok {
			return "", errCode()
		}
		b[n] = v
		n++
	}
	if n != Len {
		return "", errCode()
	}
	return Code(b[:]), nil
}

// pathCode returns the last segment of a /t/<code> path, from a full http(s)
// URL or a bare path.
func pathCode(s string) (string, bool) {
	path := s
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) || u.Host == "" {
			return "", false
		}
		path = u.Path
	} else {
		if !strings.HasPrefix(s, "/") {
			return "", false
		}
		if i := strings.IndexAny(path, "?#"); i >= 0 {
			path = path[:i]
		}
	}
	path = strings.TrimSuffix(path, "/")
	// Upper-case URLs fit QR's compact alphanumeric mode, so /T/ is ours too.
	i := strings.LastIndex(asciiLower(path), "/t/")
	if i < 0 {
		return "", false
	}
	seg := path[i+len("/t/"):]
	if seg == "" || strings.Contains(seg, "/") {
		return "", false
	}
	return seg, true
}

// asciiLower lowers ASCII letters only, byte by byte, keeping offsets
// unchanged: Unicode lowering and invalid UTF-8 could change the length.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// decode maps one typed character to its canonical symbol.
func decode(c byte) (byte, bool) {
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	switch c {
	case 'I', 'L':
		return '1', true
	case 'O':
		return '0', true
	}
	if strings.IndexByte(Alphabet, c) < 0 {
		return 0, false
	}
	return c, true
}

// Valid reports whether c is in canonical form.
func (c Code) Valid() bool {
	if len(c) != Len {
		return false
	}
	for i := 0; i < Len; i++ {
		if strings.IndexByte(Alphabet, c[i]) < 0 {
			return false
		}
	}
	return true
}

// String returns the code as printed for people: 7KQ2-M9XD.
func (c Code) String() string {
	if len(c) != Len {
		return string(c)
	}
	return string(c[:4]) + "-" + string(c[4:])
}

// Compact returns the code without the dash, as stored.
func (c Code) Compact() string { return string(c) }

// Generate returns a new code made of 40 bits read from r: crypto/rand's
// Reader in production, a deterministic reader in tests.
func Generate(r io.Reader) (Code, error) {
	var raw [5]byte
	if _, err := io.ReadFull(r, raw[:]); err != nil {
		return "", fmt.Errorf("generate tag code: %w", err)
	}
	var v uint64
	for _, x := range raw {
		v = v<<8 | uint64(x)
	}
	var b [Len]byte
	for i := Len - 1; i >= 0; i-- {
		b[i] = Alphabet[v&31]
		v >>= 5
	}
	return Code(b[:]), nil
}
