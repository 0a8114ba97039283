package account

import (
	"errors"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
)

// mustInvalidKey fails unless err is a vocabulary Invalid error carrying key.
func mustInvalidKey(t *testing.T, err error, key string) {
	t.Helper()
	var e *berriz.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *berriz.Error %q", err, key)
	}
	if e.Kind != berriz.Invalid || e.Message != key {
		t.Fatalf("err = %v (kind %v), want invalid %q", err, e.Kind, key)
	}
}

type normCase struct {
	in, want, key string // key empty: valid, normalised to want
}

func runNorm(t *testing.T, f func(string) (string, error), cases []normCase) {
	t.Helper()
	for _, c := range cases {
		got, err := f(c.in)
		if c.key != "" {
			mustInvalidKey(t, err, c.key)
			if got != "" {
				t.Errorf("%q: got %q with an error, want empty", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestNormalizeCommune(t *testing.T) {
	const bad = "error.commune_format"
	runNorm(t, NormalizeCommune, []normCase{
		{"64102", "64102", ""}, // Bayonne
		{"64445", "64445", ""}, // Pau
		{" 64122 ", "64122", ""},
		{"2A004", "2A004", ""}, // Ajaccio
		{"2b033", "2B033", ""}, // Bastia
		{"97411", "97411", ""}, // Saint-Denis (La Réunion)
		{"97101", "97101", ""},
		{"97611", "97611", ""},
		{"01001", "01001", ""},
		{"95690", "95690", ""},
		{"00000", "", bad},
		{"00123", "", bad},
		{"20004", "", bad},
		{"2C001", "", bad},
		{"6410", "", bad},
		{"641022", "", bad},
		{"64000", "", bad},
		{"97011", "", bad},
		{"97701", "97701", ""}, {"97911", "", bad},
		{"96001", "", bad},
		{"98714", "", bad},
		{"97400", "", bad},
		{"2A000", "", bad},
		{"64 102", "", bad},
		{"6410a", "", bad},
		{"", "", bad},
	})
}

func TestNormalizeSIRET(t *testing.T) {
	const format, sum = "error.siret_format", "error.siret_checksum"
	runNorm(t, NormalizeSIRET, []normCase{
		{"73282932000074", "73282932000074", ""},
		{"732 829 320 00074", "73282932000074", ""},
		{" 732.829.320.00074 ", "73282932000074", ""},
		{"732\u00a0829\u202f320 00074", "73282932000074", ""}, // non-breaking spaces from a word processor
		{"21640102200019", "21640102200019", ""},              // check digit computed
		{"35600000000048", "35600000000048", ""},              // La Poste head office: Luhn holds
		{"35600000000015", "35600000000015", ""},              // La Poste: digit sum 20, Luhn fails
		{"35600000000010", "35600000000010", ""},
		{"21640102200018", "", sum},
		{"73282932000075", "", sum},
		{"36252187900034", "", sum},
		{"35600000000011", "", sum}, // La Poste, sum 16
		{"35600000000014", "35600000000014", ""},
		{"12345678901234", "", sum},
		{"7328293200007", "", format},
		{"732829320000741", "", format},
		{"7328293200007A", "", format},
		{"732-829-320-00074", "", format},
		{"", "", format},
	})
}

func TestNormalizeUAI(t *testing.T) {
	const format, sum = "error.uai_format", "error.uai_checksum"
	runNorm(t, NormalizeUAI, []normCase{
		{"0750655E", "0750655E", ""}, // lycée Louis-le-Grand, Paris
		{"0750654D", "0750654D", ""}, // lycée Henri-IV, Paris
		{"0640001d", "0640001D", ""},
		{" 0641234U ", "0641234U", ""},
		{"0640010N", "0640010N", ""},
		{"0000000A", "0000000A", ""},
		{"0750655F", "", sum},
		{"0640001A", "", sum},
		{"0640001I", "", sum},
		{"0750655", "", format},
		{"0750655EE", "", format},
		{"075065E5", "", format},
		{"620A001X", "", format},
		{"0750655-", "", format},
		{"0750655é", "", format},
		{"", "", format},
	})
}

func TestNormalizeRNA(t *testing.T) {
	const bad = "error.rna_format"
	runNorm(t, NormalizeRNA, []normCase{
		{"W641001234", "W641001234", ""},
		{"w641001234", "W641001234", ""},
		{" W751234567 ", "W751234567", ""},
		{"W2A1000123", "W2A1000123", ""},
		{"w2b1000123", "W2B1000123", ""},
		{"W3A1000123", "", bad},
		{"W2C1000123", "", bad},
		{"WA21000123", "", bad},
		{"W64100123", "", bad},
		{"W6410012345", "", bad},
		{"X641001234", "", bad},
		{"W64100123A", "", bad},
		{"W 641001234", "", bad},
		{"", "", bad},
	})
}

func TestDetectOfficialID(t *testing.T) {
	cases := []struct {
		in, want string
		typ      IDType
		key      string
	}{
		{"73282932000074", "73282932000074", IDSIRET, ""},
		{"732 829 320 00074", "73282932000074", IDSIRET, ""},
		{"73282932000075", "", IDSIRET, "error.siret_checksum"},
		{"0750655e", "0750655E", IDUAI, ""},
		{"0750655 E", "0750655E", IDUAI, ""},
		{"0750655F", "", IDUAI, "error.uai_checksum"},
		{"w2a1000123", "W2A1000123", IDRNA, ""},
		{"W641001234", "W641001234", IDRNA, ""},
		{"W64", "", IDRNA, "error.rna_format"},
		{"", "", "", "error.official_id_format"},
		{"732829320", "", "", "error.official_id_format"}, // a SIREN is not an establishment
		{"hello", "", "", "error.official_id_format"},
		{"0750655", "", "", "error.official_id_format"},
	}
	for _, c := range cases {
		got, typ, err := DetectOfficialID(c.in)
		if typ != c.typ {
			t.Errorf("%q: type %q, want %q", c.in, typ, c.typ)
		}
		if c.key != "" {
			mustInvalidKey(t, err, c.key)
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	const bad = "error.email_format"
	long := strings.Repeat("a", 60) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".fr"
	runNorm(t, NormalizeEmail, []normCase{
		{"jon@bayonne.fr", "jon@bayonne.fr", ""},
		{"  Miren.Etxeberri@Mairie-Ustaritz.FR ", "Miren.Etxeberri@mairie-ustaritz.fr", ""},
		{"a+tag@sub.example.org", "a+tag@sub.example.org", ""},
		{"élève@ecole.fr", "élève@ecole.fr", ""},
		{"x@xn--caf-dma.fr", "x@xn--caf-dma.fr", ""},
		{"Bob <b@x.fr>", "", bad},
		{"<b@x.fr>", "", bad},
		{"b@x.fr (Bob)", "", bad},
		{`"b c"@x.fr`, "", bad},
		{`"b"@x.fr`, "", bad},
		{"b@localhost", "", bad},
		{"b@x", "", bad},
		{"b@x.", "", bad},
		{"b@.x.fr", "", bad},
		{"b@x..fr", "", bad},
		{"b@-x.fr", "", bad},
		{"b@x-.fr", "", bad},
		{"b@1.2.3.4", "", bad},
		{"b@[1.2.3.4]", "", bad},
		{"b@café.fr", "", bad},
		{"b@x_y.fr", "", bad},
		{"b c@x.fr", "", bad},
		{"b@x.fr\n", "b@x.fr", ""}, // trimmed
		{"b\x00@x.fr", "", bad},
		{"b\u00a0c@x.fr", "", bad},
		{"bx.fr", "", bad},
		{"@x.fr", "", bad},
		{"b@", "", bad},
		{"a@b@x.fr", "", bad},
		{"\xff@x.fr", "", bad},
		{strings.Repeat("a", 65) + "@x.fr", "", bad},
		{long, "", bad},
		{"", "", bad},
	})
	if len(long) <= 254 {
		t.Fatalf("test address is only %d bytes", len(long))
	}
}

// The fuzz targets check that no input panics and that whatever is accepted
// is a fixed point of the function and has the documented shape.

func FuzzNormalizeSIRET(f *testing.F) {
	for _, s := range []string{"73282932000074", "732 829 320 00074", "35600000000015", "", "1.2.3", "\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeSIRET(s)
		if err != nil {
			mustBeInvalid(t, err)
			return
		}
		if len(out) != 14 || !allDigits(out) {
			t.Fatalf("%q -> %q: not 14 digits", s, out)
		}
		mustFixedPoint(t, NormalizeSIRET, out)
	})
}

func FuzzNormalizeCommune(f *testing.F) {
	for _, s := range []string{"64102", "2a004", "97411", "20004", " 64445 ", "2ı004"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeCommune(s)
		if err != nil {
			mustBeInvalid(t, err)
			return
		}
		if !validCommune(out) || strings.ToUpper(out) != out {
			t.Fatalf("%q -> %q: bad shape", s, out)
		}
		mustFixedPoint(t, NormalizeCommune, out)
	})
}

func FuzzDetectOfficialID(f *testing.F) {
	for _, s := range []string{"73282932000074", "0750655e", "w2a1000123", "W", "", "0750655 E"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, typ, err := DetectOfficialID(s)
		if err != nil {
			mustBeInvalid(t, err)
			return
		}
		var shapeOK bool
		switch typ {
		case IDSIRET:
			shapeOK = len(out) == 14 && allDigits(out)
		case IDUAI:
			shapeOK = len(out) == 8 && allDigits(out[:7]) && strings.IndexByte(uaiLetters, out[7]) >= 0
		case IDRNA:
			shapeOK = len(out) == 10 && out[0] == 'W' && allDigits(out[3:])
		}
		if !shapeOK {
			t.Fatalf("%q -> %q (%s): bad shape", s, out, typ)
		}
		again, typ2, err := DetectOfficialID(out)
		if err != nil || again != out || typ2 != typ {
			t.Fatalf("%q -> %q (%s) -> %q (%s), %v: not a fixed point", s, out, typ, again, typ2, err)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"jon@bayonne.fr", "Bob <b@x.fr>", " A@B.FR ", `"a b"@x.fr`, "a@[1.2.3.4]", "é@x.fr"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeEmail(s)
		if err != nil {
			mustBeInvalid(t, err)
			return
		}
		at := strings.LastIndexByte(out, '@')
		if at < 1 || len(out) > 254 || strings.ContainsAny(out, " \t\r\n<>()\"") ||
			!strings.Contains(out[at:], ".") || strings.ToLower(out[at:]) != out[at:] {
			t.Fatalf("%q -> %q: bad shape", s, out)
		}
		mustFixedPoint(t, NormalizeEmail, out)
	})
}

func mustBeInvalid(t *testing.T, err error) {
	t.Helper()
	if k := berriz.KindOf(err); k != berriz.Invalid {
		t.Fatalf("err = %v, kind %v, want invalid", err, k)
	}
}

func mustFixedPoint(t *testing.T, f func(string) (string, error), out string) {
	t.Helper()
	again, err := f(out)
	if err != nil || again != out {
		t.Fatalf("%q -> %q, %v: not a fixed point", out, again, err)
	}
}
