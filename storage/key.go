package storage

import "fmt"

// MaxKeyLen bounds a whole key. S3 allows 1024 bytes, but keys are built by
// berriz itself and a shorter bound keeps disk paths far from PATH_MAX.
const MaxKeyLen = 512

// maxSegmentLen is NAME_MAX on the filesystems berriz runs on: a longer
// segment would work on S3 and fail on disk, so both backends refuse it.
const maxSegmentLen = 255

// ValidateKey reports whether key may name a blob, with an error wrapping
// ErrInvalidKey when it may not. A key is one or more segments joined by "/";
// a segment is 1 to 255 bytes of ASCII letters, digits, '-', '_' and '.', and
// does not start with '.'.
//
// The rules are deliberately narrower than S3's so that the same key is a safe
// relative path on every filesystem: no absolute path, no "." or ".." segment,
// no backslash, no control or non-ASCII byte. Forbidding a leading '.' also
// keeps the disk backend's own trees (".meta", ".tmp") out of reach of any key.
func ValidateKey(key string) error {
	if reason := keyProblem(key); reason != "" {
		return fmt.Errorf("storage key %s: %s: %w", quoteKey(key), reason, ErrInvalidKey)
	}
	return nil
}

// keyProblem returns why key is refused, or "" when it is valid.
func keyProblem(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > MaxKeyLen:
		return fmt.Sprintf("longer than %d bytes", MaxKeyLen)
	case key[0] == '/':
		return "absolute"
	case key[len(key)-1] == '/':
		return "trailing slash"
	}
	segStart := 0
	for i := 0; i <= len(key); i++ {
		if i < len(key) && key[i] != '/' {
			if !keyByteAllowed(key[i]) {
				return fmt.Sprintf("byte %#x at %d not allowed", key[i], i)
			}
			continue
		}
		seg := key[segStart:i]
		switch {
		case seg == "":
			return "empty segment"
		case seg == "." || seg == "..":
			return "relative segment " + seg
		case seg[0] == '.':
			return "segment starts with '.'"
		case len(seg) > maxSegmentLen:
			return fmt.Sprintf("segment longer than %d bytes", maxSegmentLen)
		}
		segStart = i + 1
	}
	return ""
}

// keyByteAllowed is the safe set of a segment. Everything outside it,
// including every byte of a multi-byte UTF-8 sequence, is refused.
func keyByteAllowed(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.'
}

// quoteKey renders a refused key for an error message, shortened because the
// key may come from a request and end up in logs.
func quoteKey(key string) string {
	const limit = 80
	if len(key) > limit {
		return fmt.Sprintf("%q…(%d bytes)", key[:limit], len(key))
	}
	return fmt.Sprintf("%q", key)
}
