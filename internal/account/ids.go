// Package account owns organisations, users and who may do what: the shape
// and checksums of the official identifiers an organisation declares (INSEE
// commune, SIRET, UAI, RNA), e-mail normalisation, password hashing and
// policy, and the secret tokens handed to browsers and API clients.
// Standard library and x/crypto only; no I/O.
package account

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/berriz"
)

// invalid builds the Invalid error every validator returns; key is a
// translation key so a form can show it next to the field.
func invalid(key string) error {
	return berriz.E(berriz.Invalid, key)
}

// IDType names the kind of official identifier an organisation carries.
type IDType string

// The official identifiers an organisation may declare.
const (
	IDSIRET IDType = "siret" // establishment of a company, administration or association (INSEE)
	IDUAI   IDType = "uai"   // school or other education establishment (Éducation nationale)
	IDRNA   IDType = "rna"   // declared association (Répertoire national des associations)
)

// NormalizeCommune checks an INSEE commune code (code officiel géographique)
// and returns it with Corsica's letter in upper case. Accepted: département
// 01–95 except 20 (split into 2A and 2B in 1976, no code starts with 20
// since), 2A or 2B, then a three-digit commune number; or an overseas
// département or collectivity 971–978 then a two-digit number. The commune number is never 0.
func NormalizeCommune(s string) (string, error) {
	c := asciiUpper(strings.TrimSpace(s))
	if !validCommune(c) {
		return "", invalid("error.commune_format")
	}
	return c, nil
}

func validCommune(c string) bool {
	if len(c) != 5 {
		return false
	}
	var number string
	switch dep := c[:2]; {
	case dep == "2A" || dep == "2B":
		number = c[2:]
	case dep == "97":
		// 971-976 overseas départements, 975, 977 and 978 the
		// collectivities that INSEE numbers the same way.
		if c[2] < '1' || c[2] > '8' {
			return false
		}
		number = c[3:]
	case allDigits(dep) && dep >= "01" && dep <= "95" && dep != "20":
		number = c[2:]
	default:
		return false
	}
	return allDigits(number) && strings.Trim(number, "0") != ""
}

// laPosteSIREN is the one SIREN whose establishments are numbered beyond what
// the Luhn key allows; INSEE validates them by a sum of digits instead.
const laPosteSIREN = "356000000"

// NormalizeSIRET checks a 14-digit SIRET and returns it without the spaces and
// dots people copy from letterheads ("362 521 879 00034"). The key is Luhn
// over the 14 digits, except for La Poste whose SIRETs are valid when the sum
// of their digits is a multiple of 5.
func NormalizeSIRET(s string) (string, error) {
	c := strings.Map(func(r rune) rune {
		if r == '.' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	if len(c) != 14 || !allDigits(c) {
		return "", invalid("error.siret_format")
	}
	if !luhn(c) && !(strings.HasPrefix(c, laPosteSIREN) && digitSum(c)%5 == 0) {
		return "", invalid("error.siret_checksum")
	}
	return c, nil
}

// luhn reports whether a string of ASCII digits passes the Luhn check.
func luhn(digits string) bool {
	return len(digits) > 1 && LuhnComplete(digits[:len(digits)-1]) == digits
}

// LuhnComplete appends to a string of ASCII digits the check digit that
// makes it pass the Luhn check (a 13-digit SIRET prefix becomes a valid
// SIRET).
func LuhnComplete(digits string) string {
	sum := 0
	double := true // the appended key is not doubled, the digit before it is
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return digits + string(rune('0'+(10-sum%10)%10))
}

func digitSum(digits string) int {
	sum := 0
	for i := 0; i < len(digits); i++ {
		sum += int(digits[i] - '0')
	}
	return sum
}

// uaiLetters are the 23 check letters of a UAI: the alphabet without I, O and
// Q, which read too much like 1, 0 and O.
const uaiLetters = "ABCDEFGHJKLMNPRSTUVWXYZ"

// NormalizeUAI checks a UAI (unité administrative immatriculée, the school
// identifier of the Éducation nationale): seven digits and a check letter,
// uaiLetters[n mod 23] where n is the seven digits read as a number. It
// returns the code with the letter in upper case.
func NormalizeUAI(s string) (string, error) {
	c := asciiUpper(strings.TrimSpace(s))
	if len(c) != 8 || !allDigits(c[:7]) || c[7] < 'A' || c[7] > 'Z' {
		return "", invalid("error.uai_format")
	}
	n := 0
	for i := 0; i < 7; i++ {
		n = n*10 + int(c[i]-'0')
	}
	if c[7] != uaiLetters[n%len(uaiLetters)] {
		return "", invalid("error.uai_checksum")
	}
	return c, nil
}

// NormalizeRNA checks an RNA association number: W then nine characters, all
// digits except the third, which is A or B when the second is 2 (Corsica's
// départements 2A and 2B, as in W2A…). The number carries no check key.
func NormalizeRNA(s string) (string, error) {
	c := asciiUpper(strings.TrimSpace(s))
	if len(c) != 10 || c[0] != 'W' || !allDigits(c[1:2]) || !allDigits(c[3:]) {
		return "", invalid("error.rna_format")
	}
	if !allDigits(c[2:3]) && !(c[1] == '2' && (c[2] == 'A' || c[2] == 'B')) {
		return "", invalid("error.rna_format")
	}
	return c, nil
}

// DetectOfficialID recognises an official identifier by its shape (14 digits:
// SIRET; 7 digits and a letter: UAI; starting with W: RNA), validates it and
// returns it normalised with its type, so a form can offer one field for all
// three. Spaces and dots are ignored, as people copy them from letterheads.
func DetectOfficialID(s string) (string, IDType, error) {
	c := asciiUpper(strings.Map(func(r rune) rune {
		if r == '.' || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s))
	switch {
	case len(c) == 14 && allDigits(c):
		v, err := NormalizeSIRET(c)
		return v, IDSIRET, err
	case len(c) == 8 && allDigits(c[:7]) && c[7] >= 'A' && c[7] <= 'Z':
		v, err := NormalizeUAI(c)
		return v, IDUAI, err
	case strings.HasPrefix(c, "W"):
		v, err := NormalizeRNA(c)
		return v, IDRNA, err
	}
	return "", "", invalid("error.official_id_format")
}

// Limits of RFC 5321 on what a mail server must accept.
const (
	maxEmailBytes = 254
	maxLocalBytes = 64
	maxLabelBytes = 63
)

// NormalizeEmail checks an e-mail address as a person types it in a sign-in or
// invitation form and returns it with the domain in lower case. The local part
// is kept as typed (the database compares addresses case-insensitively).
// Refused: display names and angle brackets ("Bob <b@x.fr>"), comments and
// quoted local parts, spaces and control characters, a domain without a dot
// or that is not plain ASCII (internationalised domains must be typed in
// their xn-- form), and anything longer than 254 bytes.
func NormalizeEmail(s string) (string, error) {
	e := strings.TrimSpace(s)
	if e == "" || len(e) > maxEmailBytes || !utf8.ValidString(e) {
		return "", invalid("error.email_format")
	}
	for _, r := range e {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", invalid("error.email_format")
		}
	}
	addr, err := mail.ParseAddress(e)
	// Requiring the parsed address to be the whole input refuses every form
	// net/mail accepts beyond a bare addr-spec: names, <...>, comments, quotes.
	if err != nil || addr.Name != "" || addr.Address != e {
		return "", invalid("error.email_format")
	}
	at := strings.LastIndexByte(e, '@')
	if at < 1 {
		return "", invalid("error.email_format")
	}
	local, domain := e[:at], e[at+1:]
	if len(local) > maxLocalBytes || !validDomain(domain) {
		return "", invalid("error.email_format")
	}
	return local + "@" + strings.ToLower(domain), nil
}

// validDomain accepts a DNS host name of at least two labels, made of ASCII
// letters, digits and inner hyphens, whose last label is not all digits (an IP
// address is not a mail domain here).
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabelBytes || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return !allDigits(labels[len(labels)-1])
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// asciiUpper upper-cases ASCII letters only: unicode.ToUpper would turn "ı"
// into "I" and "ſ" into "S", letting look-alikes through the shape checks.
func asciiUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - ('a' - 'A')
		}
		return r
	}, s)
}
