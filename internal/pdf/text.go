package pdf

import (
	"strings"
	"unicode/utf8"
)

// winAnsiExtra maps the characters of Windows-1252's 0x80–0x9F range; from
// 0xA0 up it agrees with Latin-1.
var winAnsiExtra = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88, '‰': 0x89,
	'Š': 0x8A, '‹': 0x8B, 'Œ': 0x8C, 'Ž': 0x8E, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95,
	'–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9A, '›': 0x9B, 'œ': 0x9C, 'ž': 0x9E, 'Ÿ': 0x9F,
}

// winAnsiNear stands in for characters WinAnsi lacks but a translation or
// a name may hold: the narrow spaces of French typography, non-breaking
// hyphens, a few symbols, and letters of Central European names.
var winAnsiNear = map[rune]string{
	'\u202f': " ", '\u2009': " ", '\u2007': " ", '\u2002': " ", '\u2003': " ", '\u2011': "-", '\u2010': "-",
	'\u2212': "-", '\u2192': "->", '\u2190': "<-", '\u2264': "<=", '\u2265': ">=", '\u2248': "~", '\u2032': "'",
	'\u2033': "\"", 'ą': "a", 'ć': "c", 'ę': "e", 'ł': "l", 'ń': "n", 'ś': "s", 'ź': "z", 'ż': "z", 'Ą': "A",
	'Ć': "C", 'Ę': "E", 'Ł': "L", 'Ń': "N", 'Ś': "S", 'Ź': "Z", 'Ż': "Z", 'ă': "a", 'ș': "s", 'ş': "s", 'ț': "t",
	'ţ': "t", 'Ă': "A", 'Ș': "S", 'Ş': "S", 'Ț': "T", 'Ţ': "T", 'č': "c", 'ř': "r", 'ě': "e", 'ů': "u", 'Č': "C",
	'Ř': "R", 'ı': "i", 'ğ': "g", 'İ': "I", 'Ğ': "G",
}

// WinAnsi converts UTF-8 text to the encoding of the standard fonts. What
// it cannot represent becomes a near equivalent, or "?"; control
// characters become spaces.
func WinAnsi(s string) []byte {
	out := make([]byte, 0, len(s))
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		s = s[n:]
		switch {
		case r == utf8.RuneError && n <= 1:
			out = append(out, '?')
		case r < 0x20 || r == 0x7f:
			out = append(out, ' ')
		case r < 0x80, r >= 0xA0 && r <= 0xFF:
			out = append(out, byte(r))
		default:
			if b, ok := winAnsiExtra[r]; ok {
				out = append(out, b)
			} else if t, ok := winAnsiNear[r]; ok {
				out = append(out, t...)
			} else {
				out = append(out, '?')
			}
		}
	}
	return out
}

// helvetica and helveticaBold hold the advance widths of the printable
// ASCII characters (32–126), in thousandths of the font size, from Adobe's
// AFM files of the standard fonts.
var helvetica = [95]int{
	278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
	278, 278, 584, 584, 584, 556, 1015, // : to @
	667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // A-M
	722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N-Z
	278, 278, 278, 469, 556, 333, // [ to `
	556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // a-m
	556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // n-z
	334, 260, 334, 584, // { to ~
}

var helveticaBold = [95]int{
	278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // space to /
	556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
	333, 333, 584, 584, 584, 611, 975, // : to @
	722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, // A-M
	722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N-Z
	333, 278, 333, 584, 556, 333, // [ to `
	556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, // a-m
	611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, // n-z
	389, 280, 389, 584, // { to ~
}

// latinBase gives the letters of WinAnsi's upper half the width of their
// base letter (é is as wide as e); the others are listed in upperWidths.
const latinBase = "AAAAAA?CEEEEIIIIDNOOOOO?OUUUUY??aaaaaa?ceeeeiiiidnooooo?ouuuuy?y"

// upperWidths holds widths of WinAnsi's upper half that no base letter
// gives, for both fonts (they differ little there).
var upperWidths = map[byte]int{
	0x80: 556, 0x85: 1000, 0x8C: 1000, 0x91: 222, 0x92: 222, 0x93: 333, 0x94: 333, 0x95: 350, 0x96: 556,
	0x97: 1000, 0x99: 1000, 0x9C: 944, 0xA0: 278, 0xAB: 556, 0xBB: 556, 0xB0: 400, 0xC6: 1000, 0xD7: 584,
	0xDE: 667, 0xDF: 611, 0xE6: 889, 0xF7: 584, 0xFE: 556,
}

// width returns the advance width of one WinAnsi byte, in thousandths.
func width(c byte, f Font) int {
	table := &helvetica
	if f == Bold {
		table = &helveticaBold
	}
	switch {
	case c >= 32 && c <= 126:
		return table[c-32]
	case c >= 0xC0 && latinBase[c-0xC0] != '?':
		return table[latinBase[c-0xC0]-32]
	}
	if w, ok := upperWidths[c]; ok {
		return w
	}
	return 556
}

// TextWidth returns the width of s set in f at size points: exact for
// ASCII, close for the rest.
func TextWidth(s string, size float64, f Font) float64 {
	total := 0
	for _, c := range WinAnsi(s) {
		total += width(c, f)
	}
	return float64(total) * size / 1000
}

// Wrap splits s into lines no wider than width points in f at size. Plain
// spaces and newlines break lines; no-break spaces hold (French « a »
// stays together); a word wider than the whole line (a URL, a checksum)
// is cut between characters.
func Wrap(s string, f Font, size, width float64) []string {
	var lines []string
	for _, para := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		before := len(lines)
		var cur string
		for _, w := range strings.Split(para, " ") {
			if w == "" {
				continue
			}
			next := w
			if cur != "" {
				next = cur + " " + w
			}
			if TextWidth(next, size, f) <= width {
				cur = next
				continue
			}
			if cur != "" {
				lines = append(lines, cur)
			}
			cur = w
			for TextWidth(cur, size, f) > width {
				head := fitPrefix(cur, f, size, width)
				lines = append(lines, head)
				cur = cur[len(head):]
			}
		}
		if cur != "" || len(lines) == before {
			lines = append(lines, cur) // an empty paragraph is an empty line
		}
	}
	return lines
}

// fitPrefix returns the longest prefix of w (whole characters, at least
// one) that fits width.
func fitPrefix(w string, f Font, size, width float64) string {
	end := 0
	for i, r := range w {
		next := i + utf8.RuneLen(r)
		if end > 0 && TextWidth(w[:next], size, f) > width {
			break
		}
		end = next
	}
	return w[:end]
}
