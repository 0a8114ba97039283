package account

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		plain, hash := NewToken()
		if len(plain) != 43 || !ValidTokenShape(plain) {
			t.Fatalf("token %q has the wrong shape", plain)
		}
		if seen[plain] {
			t.Fatalf("token %q drawn twice", plain)
		}
		seen[plain] = true
		want := sha256.Sum256([]byte(plain))
		if !bytes.Equal(hash, want[:]) || !bytes.Equal(HashToken(plain), hash) {
			t.Fatalf("hash of %q is not its SHA-256", plain)
		}
	}
}

func TestHashToken(t *testing.T) {
	a, b := HashToken("a"), HashToken("b")
	if len(a) != sha256.Size || bytes.Equal(a, b) {
		t.Fatalf("HashToken: %x, %x", a, b)
	}
	if !bytes.Equal(HashToken("a"), a) {
		t.Fatal("HashToken is not deterministic")
	}
}

func TestValidTokenShape(t *testing.T) {
	ok := strings.Repeat("A", 41) + "-_"
	cases := map[string]bool{
		ok:                               true,
		strings.Repeat("z", 43):          true,
		strings.Repeat("9", 43):          true,
		"":                               false,
		ok[:42]:                          false,
		ok + "A":                         false,
		strings.Repeat("A", 42) + "=":    false,
		strings.Repeat("A", 42) + "+":    false,
		strings.Repeat("A", 42) + "/":    false,
		strings.Repeat("A", 42) + " ":    false,
		strings.Repeat("A", 41) + "é":    false, // 43 bytes, not 43 characters of the alphabet
		strings.Repeat("A", 42) + "\x00": false,
	}
	for s, want := range cases {
		if got := ValidTokenShape(s); got != want {
			t.Errorf("ValidTokenShape(%q) = %v, want %v", s, got, want)
		}
	}
}
