package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/berriz/berriz/internal/berriz"
)

// Argon2Params are the cost parameters of argon2id, stored in every hash so
// that they can be raised later without invalidating existing passwords.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 is OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane).
// The platform runs on small 2-core machines where a burst of logins (a class
// signing in together) must not exhaust memory or queue for seconds, so it
// stays at the floor rather than at RFC 9106's 64 MiB or 2 GiB profiles.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19456, Time: 2, Threads: 1}

const (
	saltBytes = 16
	keyBytes  = 32

	// Bounds on parameters read back from a stored hash: a tampered or
	// corrupted row must not make one login allocate gigabytes or spin for
	// minutes.
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 100
	minSaltBytes = 8 // RFC 9106's floor
	minKeyBytes  = 16
	maxSaltOrKey = 64
)

// ErrMalformedHash is wrapped by VerifyPassword when a stored hash cannot be
// read or carries parameters out of bounds. It is an internal error: the data
// is corrupt, not the user's input.
var ErrMalformedHash = errors.New("malformed password hash")

var b64 = base64.RawStdEncoding.Strict()

// check refuses parameters argon2 would panic on or that exceed the bounds.
func (p Argon2Params) check() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("argon2 time %d out of range 1..%d", p.Time, maxTime)
	case p.Threads < 1:
		return errors.New("argon2 threads must be at least 1")
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("argon2 memory %d KiB out of range %d..%d", p.MemoryKiB, 8*uint32(p.Threads), maxMemoryKiB)
	}
	return nil
}

// HashPassword derives an argon2id key from password with a fresh random salt
// and returns it in the PHC string format:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, both in unpadded base64.
func HashPassword(password string, p Argon2Params) (string, error) {
	if err := p.check(); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	salt := make([]byte, saltBytes)
	rand.Read(salt) // never fails: crypto/rand crashes the program instead
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyBytes)
	return encodeHash(p, salt, key), nil
}

func encodeHash(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword reports whether password matches the stored PHC hash, in
// constant time. When it matches, rehash tells whether the hash was made with
// other parameters than current (or another salt or key size), so the caller
// should store a fresh HashPassword result while it has the plain password.
// A malformed hash gives an error wrapping ErrMalformedHash, never a panic.
func VerifyPassword(password, encoded string, current Argon2Params) (ok, rehash bool, err error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p != current || len(salt) != saltBytes || len(key) != keyBytes, nil
}

func decodeHash(encoded string) (p Argon2Params, salt, key []byte, err error) {
	malformed := func(what string) error { return fmt.Errorf("%w: %s", ErrMalformedHash, what) }
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return p, nil, nil, malformed("expected 5 $-separated fields")
	}
	if parts[1] != "argon2id" {
		return p, nil, nil, malformed("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, malformed("unsupported version")
	}
	if p, err = parseParams(parts[3]); err != nil {
		return p, nil, nil, malformed(err.Error())
	}
	if err := p.check(); err != nil {
		return p, nil, nil, malformed(err.Error())
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, nil, nil, malformed("salt is not base64")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return p, nil, nil, malformed("key is not base64")
	}
	if len(salt) < minSaltBytes || len(salt) > maxSaltOrKey || len(key) < minKeyBytes || len(key) > maxSaltOrKey {
		return p, nil, nil, malformed("salt or key length out of range")
	}
	return p, salt, key, nil
}

// parseParams reads "m=…,t=…,p=…" in that order, as every argon2 library
// writes it; anything else (extra keyid or data fields) is refused.
func parseParams(s string) (Argon2Params, error) {
	var p Argon2Params
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return p, errors.New("expected m, t and p parameters")
	}
	names := [3]string{"m=", "t=", "p="}
	bits := [3]int{32, 32, 8}
	var vals [3]uint64
	for i, f := range fields {
		v, ok := strings.CutPrefix(f, names[i])
		if !ok {
			return p, fmt.Errorf("expected parameter %s", names[i])
		}
		n, err := strconv.ParseUint(v, 10, bits[i])
		if err != nil || v != strconv.FormatUint(n, 10) { // no "+1", no "007"
			return p, fmt.Errorf("bad value for %s", names[i])
		}
		vals[i] = n
	}
	return Argon2Params{MemoryKiB: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}, nil
}

var dummy struct {
	once      sync.Once
	salt, key []byte
}

// DummyVerify costs what VerifyPassword costs for a hash made with p, and
// answers nothing. Call it when a login names an unknown e-mail, so that the
// response time does not tell which addresses have an account. The dummy
// salt and key are drawn once, lazily; no real hash needs computing since the
// comparison is bound to fail either way.
func DummyVerify(password string, p Argon2Params) {
	dummy.once.Do(func() {
		dummy.salt = make([]byte, saltBytes)
		dummy.key = make([]byte, keyBytes)
		rand.Read(dummy.salt)
		rand.Read(dummy.key)
	})
	_, _, _ = VerifyPassword(password, encodeHash(p, dummy.salt, dummy.key), p)
}

// Password policy, after NIST SP 800-63B and ANSSI: length over composition
// rules, and a refusal of the passwords tried first by any attacker.
const (
	minPasswordRunes = 12
	// argon2 itself takes any length; the cap keeps a request from making the
	// server hash megabytes, and 256 bytes leaves room for long passphrases.
	maxPasswordBytes = 256
)

// commonPasswords are among the most frequent passwords of 12 characters or
// more in French, Basque and English leaks (shorter ones fail on length).
var commonPasswords = map[string]bool{
	"123456789012": true, "1234567890123": true, "12345678901234": true,
	"000000000000": true, "111111111111": true, "123123123123": true,
	"azertyuiop12": true, "azertyuiop123": true, "azertyuiopqs": true,
	"azerty123456": true, "azertyazerty": true, "123456azerty": true,
	"qwertyuiop12": true, "qwertyuiop123": true, "qwerty123456": true,
	"1q2w3e4r5t6y": true, "password1234": true, "password12345": true,
	"passwordpassword": true, "motdepasse123": true, "motdepasse1234": true,
	"motdepasse2024": true, "motdepasse2025": true, "motdepasse2026": true,
	"iloveyou1234": true, "jetaime123456": true, "bonjour12345": true,
	"soleil123456": true, "abcdefghijkl": true, "pasahitza123": true,
	"euskalherria": true, "berriz123456": true,
}

// CheckPasswordPolicy checks a new password for the account whose e-mail is
// email and returns an Invalid error whose Message is the translation key of
// the first rule it breaks, for the form to show next to the field.
func CheckPasswordPolicy(password, email string) error {
	switch {
	case utf8.RuneCountInString(password) < minPasswordRunes:
		return berriz.E(berriz.Invalid, "error.password_too_short")
	case len(password) > maxPasswordBytes:
		return berriz.E(berriz.Invalid, "error.password_too_long")
	}
	if email = strings.TrimSpace(email); email != "" {
		local, _, _ := strings.Cut(email, "@")
		if strings.EqualFold(password, email) || strings.EqualFold(password, local) {
			return berriz.E(berriz.Invalid, "error.password_is_email")
		}
	}
	if commonPasswords[strings.ToLower(password)] {
		return berriz.E(berriz.Invalid, "error.password_too_common")
	}
	return nil
}
