package account

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// cheap keeps the unit tests fast; the benchmark measures the real cost.
var cheap = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

func mustHash(t *testing.T, password string, p Argon2Params) string {
	t.Helper()
	h, err := HashPassword(password, p)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	return h
}

func TestHashPasswordFormat(t *testing.T) {
	h := mustHash(t, "correct horse battery", DefaultArgon2)
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(h, prefix) {
		t.Fatalf("hash %q lacks prefix %q", h, prefix)
	}
	parts := strings.Split(h, "$")
	if len(parts[4]) != 22 || len(parts[5]) != 43 { // 16 and 32 bytes, unpadded
		t.Fatalf("salt %q or key %q has the wrong length", parts[4], parts[5])
	}
	if h2 := mustHash(t, "correct horse battery", DefaultArgon2); h2 == h {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestVerifyPassword(t *testing.T) {
	h := mustHash(t, "correct horse battery", cheap)
	cases := []struct {
		name, password string
		current        Argon2Params
		ok, rehash     bool
	}{
		{"right", "correct horse battery", cheap, true, false},
		{"wrong", "correct horse batterY", cheap, false, false},
		{"empty", "", cheap, false, false},
		{"params raised", "correct horse battery", DefaultArgon2, true, true},
		{"wrong with other params", "nope nope nope", DefaultArgon2, false, false},
	}
	for _, c := range cases {
		ok, rehash, err := VerifyPassword(c.password, h, c.current)
		if err != nil || ok != c.ok || rehash != c.rehash {
			t.Errorf("%s: ok=%v rehash=%v err=%v, want ok=%v rehash=%v", c.name, ok, rehash, err, c.ok, c.rehash)
		}
	}
}

func TestVerifyPasswordOtherSizes(t *testing.T) {
	// A hash from another library (8-byte salt, 16-byte key) still verifies,
	// and asks to be rehashed into the house sizes.
	salt := []byte("saltsalt")
	key := argon2.IDKey([]byte("pw pw pw pw pw"), salt, cheap.Time, cheap.MemoryKiB, cheap.Threads, 16)
	h := encodeHash(cheap, salt, key)
	ok, rehash, err := VerifyPassword("pw pw pw pw pw", h, cheap)
	if err != nil || !ok || !rehash {
		t.Fatalf("ok=%v rehash=%v err=%v, want ok and rehash", ok, rehash, err)
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	good := mustHash(t, "correct horse battery", cheap)
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	cases := map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"missing key":    "$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"missing params": "$argon2id$v=19$" + salt + "$" + key,
		"no leading $":   "argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"extra field":    good + "$x",
		"argon2i":        "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"argon2d":        "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"old version":    "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"no version":     "$argon2id$m=64,t=1,p=1$" + salt + "$" + key,
		"params order":   "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,
		"keyid param":    "$argon2id$v=19$m=64,t=1,p=1,keyid=x$" + salt + "$" + key,
		"signed m":       "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key,
		"leading zero":   "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key,
		"absurd m":       "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key,
		"m overflows":    "$argon2id$v=19$m=99999999999,t=1,p=1$" + salt + "$" + key,
		"absurd t":       "$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + key,
		"zero t":         "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"zero p":         "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"p overflows":    "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key,
		"m below 8p":     "$argon2id$v=19$m=8,t=1,p=2$" + salt + "$" + key,
		"bad salt b64":   "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key,
		"padded key":     "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "=",
		"bad key b64":    "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:42] + "*",
		"short salt":     "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + key,
		"short key":      "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$a2V5",
		"empty salt":     "$argon2id$v=19$m=64,t=1,p=1$$" + key,
	}
	for name, h := range cases {
		ok, rehash, err := VerifyPassword("correct horse battery", h, cheap)
		if !errors.Is(err, ErrMalformedHash) || ok || rehash {
			t.Errorf("%s: ok=%v rehash=%v err=%v, want ErrMalformedHash", name, ok, rehash, err)
		}
	}
}

func TestHashPasswordRefusesBadParams(t *testing.T) {
	for _, p := range []Argon2Params{
		{},
		{MemoryKiB: 64, Time: 0, Threads: 1},
		{MemoryKiB: 64, Time: 1, Threads: 0},
		{MemoryKiB: 1<<20 + 1, Time: 1, Threads: 1},
		{MemoryKiB: 64, Time: 101, Threads: 1},
	} {
		if _, err := HashPassword("correct horse battery", p); err == nil {
			t.Errorf("%+v: no error", p)
		}
	}
}

func TestDummyVerify(t *testing.T) {
	// Nothing to observe but the absence of a panic, including with
	// parameters VerifyPassword refuses.
	DummyVerify("correct horse battery", cheap)
	DummyVerify("correct horse battery", cheap)
	DummyVerify("", Argon2Params{})
}

func TestCheckPasswordPolicy(t *testing.T) {
	const email = "Miren.Etxeberri@mairie-ustaritz.fr"
	cases := []struct{ password, key string }{
		{"correct horse battery", ""},
		{"Ikastola-Uztaritze", ""},
		{"12 caractères", ""}, // 13 runes, 14 bytes
		{"éééééééééééé", ""},  // 12 runes, 24 bytes
		{"ééééééééééé", "error.password_too_short"},
		{"short", "error.password_too_short"},
		{"", "error.password_too_short"},
		{strings.Repeat("a", 256), ""},
		{strings.Repeat("a", 257), "error.password_too_long"},
		{strings.Repeat("é", 129), "error.password_too_long"},
		{"miren.etxeberri@mairie-ustaritz.fr", "error.password_is_email"},
		{"MIREN.ETXEBERRI", "error.password_is_email"},
		{"motdepasse123", "error.password_too_common"},
		{"AZERTYUIOP12", "error.password_too_common"},
		{"Password1234", "error.password_too_common"},
		{"123456789012", "error.password_too_common"},
		{"qwertyuiop12", "error.password_too_common"},
		{"EuskalHerria", "error.password_too_common"},
	}
	for _, c := range cases {
		err := CheckPasswordPolicy(c.password, email)
		if c.key == "" {
			if err != nil {
				t.Errorf("%q: %v", c.password, err)
			}
			continue
		}
		mustInvalidKey(t, err, c.key)
	}
	if err := CheckPasswordPolicy("correct horse battery", ""); err != nil {
		t.Errorf("no e-mail: %v", err)
	}
	for p := range commonPasswords {
		if p != strings.ToLower(p) || len(p) < minPasswordRunes {
			t.Errorf("common password %q is not lower case or is too short to matter", p)
		}
	}
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("correct horse battery", DefaultArgon2); err != nil {
			b.Fatal(err)
		}
	}
}
