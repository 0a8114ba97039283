package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// tokenBytes of entropy make a token unguessable for as long as it lives; the
// plain form is their unpadded base64url encoding.
const (
	tokenBytes = 32
	tokenChars = 43 // base64.RawURLEncoding.EncodedLen(tokenBytes)
)

// NewToken draws a secret handed to a browser or an API client (session
// cookie, invitation or password-reset link, API token). The plain form goes
// to its holder and is never stored; the database keeps only its SHA-256, so
// a leaked table does not open any session. A fast hash is enough here, unlike
// passwords, because the secret has 256 bits of entropy.
func NewToken() (plain string, hash []byte) {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails: crypto/rand crashes the program instead
	plain = base64.RawURLEncoding.EncodeToString(b)
	return plain, HashToken(plain)
}

// HashToken returns the SHA-256 of a token's plain form, the value to look it
// up by.
func HashToken(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// ValidTokenShape reports whether plain could have come from NewToken:
// exactly 43 characters of the base64url alphabet. Checking it first refuses
// garbage and oversized cookies before any database lookup.
func ValidTokenShape(plain string) bool {
	if len(plain) != tokenChars {
		return false
	}
	for i := 0; i < len(plain); i++ {
		c := plain[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
