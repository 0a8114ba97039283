package tag_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/tag"
)

func TestParse(t *testing.T) {
	const want = tag.Code("7KQ2M9XD")
	ok := []struct{ name, in string }{
		{"canonical", "7KQ2M9XD"},
		{"with dash", "7KQ2-M9XD"},
		{"lower case", "7kq2-m9xd"},
		{"mixed case and spaces", "  7kQ2-M9xd \t\n"},
		{"dashes anywhere", "7-KQ2M-9XD"},
		{"https URL", "https://berriz.example.org/t/7KQ2-M9XD"},
		{"http URL without dash", "http://localhost:8080/t/7kq2m9xd"},
		{"URL with trailing slash", "https://berriz.example.org/t/7KQ2-M9XD/"},
		{"URL with query", "https://berriz.example.org/t/7KQ2-M9XD?src=qr"},
		{"URL with fragment", "https://berriz.example.org/t/7KQ2-M9XD#x"},
		{"URL with language prefix", "https://berriz.example.org/eu/t/7KQ2-M9XD"},
		{"upper-case scheme", "HTTPS://BERRIZ.EXAMPLE.ORG/T/7KQ2-M9XD"},
		{"bare path", "/t/7KQ2-M9XD"},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tag.Parse(tt.in)
			if err != nil || got != want {
				t.Fatalf("Parse(%q) = %q, %v; want %q", tt.in, got, err, want)
			}
		})
	}

	// Crockford's decoding rules for typed input.
	for in, want := range map[string]tag.Code{"IIII-LLLL": "11111111", "oooo-OOOO": "00000000", "l0O1-iIoL": "10011101"} {
		if got, err := tag.Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}

	bad := []struct{ name, in string }{
		{"empty", ""},
		{"spaces", "   "},
		{"too short", "7KQ2-M9X"},
		{"too long", "7KQ2-M9XDA"},
		{"U is invalid", "7KQ2-M9XU"},
		{"punctuation", "7KQ2_M9XD"},
		{"inner space", "7KQ2 M9XD"},
		{"non-ASCII", "7KQ2-M9XÉ"},
		{"invalid UTF-8", "7KQ2-M9X\xff"},
		{"only dashes", "--------"},
		{"other scheme", "ftp://berriz.example.org/t/7KQ2-M9XD"},
		{"no /t/", "https://berriz.example.org/d/7KQ2-M9XD"},
		{"URL without code", "https://berriz.example.org/t/"},
		{"code not last", "https://berriz.example.org/t/7KQ2-M9XD/edit"},
		{"relative path", "t/7KQ2-M9XD"},
		{"URL without host", "https:///t/7KQ2-M9XD"},
		{"huge", strings.Repeat("7", 5000)},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tag.Parse(tt.in)
			var be *berriz.Error
			if !errors.As(err, &be) || be.Kind != berriz.Invalid || be.Message != "error.tag_code" {
				t.Fatalf("Parse(%q) = %q, %v; want Invalid error.tag_code", tt.in, got, err)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	c := tag.Code("7KQ2M9XD")
	if c.String() != "7KQ2-M9XD" || c.Compact() != "7KQ2M9XD" || !c.Valid() {
		t.Fatalf("String %q Compact %q Valid %v", c.String(), c.Compact(), c.Valid())
	}
	for _, c := range []tag.Code{"", "7KQ2M9XU", "7kq2m9xd", "7KQ2M9X"} {
		if c.Valid() {
			t.Errorf("%q is valid", c)
		}
	}
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		raw  []byte
		want tag.Code
	}{
		{[]byte{0, 0, 0, 0, 0}, "00000000"},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff}, "ZZZZZZZZ"},
		// 0x0842108421 is 00001 repeated eight times.
		{[]byte{0x08, 0x42, 0x10, 0x84, 0x21}, "11111111"},
		{[]byte{0x39, 0xae, 0x2a, 0x27, 0xbd}, "76Q2M9XX"},
	}
	for _, tt := range tests {
		got, err := tag.Generate(bytes.NewReader(tt.raw))
		if err != nil || got != tt.want {
			t.Errorf("Generate(% x) = %q, %v; want %q", tt.raw, got, err, tt.want)
		}
		if !got.Valid() {
			t.Errorf("Generate(% x) = %q is not valid", tt.raw, got)
		}
	}
	if _, err := tag.Generate(bytes.NewReader([]byte{1, 2, 3})); err == nil {
		t.Fatal("Generate from a short reader succeeded")
	}
	// Every generated code parses back to itself.
	r := bytes.NewReader(bytes.Repeat([]byte{0x5a, 0x13, 0xc7, 0xe9, 0x02, 0x88, 0x41}, 50))
	for {
		c, err := tag.Generate(r)
		if err != nil {
			break
		}
		if p, err := tag.Parse(c.String()); err != nil || p != c {
			t.Fatalf("Parse(%q) = %q, %v", c.String(), p, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"7KQ2-M9XD", "7kq2m9xd", "https://berriz.example.org/t/7KQ2-M9XD/?a=1", "/t/IIII-OOOO",
		"", "----", "7KQ2-M9XU", "http://[::1]:80/t/0000-0000", "https://x/t/%41BCD-EFGH", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := tag.Parse(s)
		if err != nil {
			var be *berriz.Error
			if !errors.As(err, &be) || be.Kind != berriz.Invalid || be.Message != "error.tag_code" {
				t.Fatalf("Parse(%q): error %v is not Invalid error.tag_code", s, err)
			}
			if c != "" {
				t.Fatalf("Parse(%q) returned %q with an error", s, c)
			}
			return
		}
		if !c.Valid() {
			t.Fatalf("Parse(%q) = %q, not canonical", s, c)
		}
		for _, in := range []string{c.String(), c.Compact(), strings.ToLower(c.String()), "https://x/t/" + c.String(), "http://x/t/" + c.Compact() + "/?q"} {
			if p, err := tag.Parse(in); err != nil || p != c {
				t.Fatalf("Parse(%q) = %q, %v; want %q (from %q)", in, p, err, c, s)
			}
		}
	})
}
