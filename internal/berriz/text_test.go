package berriz_test

import (
	"testing"

	"github.com/berriz/berriz/internal/berriz"
)

func TestText(t *testing.T) {
	cases := []struct {
		in, want, err string
		multiline     bool
	}{
		{"  Écran rayé  ", "Écran rayé", "", false},
		{"ligne 1\r\nligne 2", "", "error.invalid_text", false},
		{"ligne 1\r\nligne 2\tfin", "ligne 1\nligne 2\tfin", "", true},
		{"bip\x07", "", "error.invalid_text", true},
		{"\xff\xfe", "", "error.invalid_text", false},
		{"éééééééééééééééééééééééééééééé", "éééééééééééééééééééééééééééééé", "", false}, // 30 characters, 60 bytes
		{"ééééééééééééééééééééééééééééééé", "", "x.too_long", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		f := berriz.FieldErrors{}
		got := berriz.Text(f, "notes", c.in, 30, c.multiline, "x.too_long")
		if got != c.want || f["notes"] != c.err {
			t.Errorf("Text(%q) = %q, %v; want %q, %q", c.in, got, f, c.want, c.err)
		}
	}
}
