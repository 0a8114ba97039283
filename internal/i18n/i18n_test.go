package i18n

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		header string
		want   Lang
		ok     bool
	}{
		{"", "", false},
		{"eu", EU, true},
		{"eu-ES,es;q=0.8", EU, true},
		{"es-ES,es;q=0.9,en;q=0.5", EN, true},
		{"de, en;q=0.3, fr;q=0.7", FR, true},
		{"EN-gb", EN, true},
		{"fr;q=0, en;q=0.1", EN, true},
		{"de,es", "", false},
		{"fr;q=abc, eu;q=0.2", EU, true},
		{"fr;q=2", "", false},
		{";;,,;q=", "", false},
		{"*", "", false},
	}
	for _, tt := range tests {
		got, ok := Negotiate(tt.header)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Negotiate(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"eu-ES,es;q=0.8", "fr;q=0.5", ",;=", "en;q=1.0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, ok := Negotiate(s)
		if ok {
			if _, valid := Parse(string(l)); !valid {
				t.Fatalf("Negotiate(%q) returned unsupported %q", s, l)
			}
		}
	})
}

func catalogFS(fr, eu, en string) fstest.MapFS {
	return fstest.MapFS{
		"fr/a.json": {Data: []byte(fr)},
		"eu/a.json": {Data: []byte(eu)},
		"en/a.json": {Data: []byte(en)},
	}
}

func TestLoadChecksCatalogsAgree(t *testing.T) {
	tests := []struct {
		name, fr, eu, en, wantErr string
	}{
		{"ok", `{"a":"A {n}"}`, `{"a":"{n} A"}`, `{"a":"A {n}"}`, ""},
		{"missing key", `{"a":"A","b":"B"}`, `{"a":"A"}`, `{"a":"A","b":"B"}`, `eu: "b" is missing`},
		{"extra key", `{"a":"A"}`, `{"a":"A"}`, `{"a":"A","z":"Z"}`, `en: "z" is not in the fr catalog`},
		{"placeholder", `{"a":"A {n}"}`, `{"a":"A {m}"}`, `{"a":"A {n}"}`, `eu: "a" has placeholders`},
		{"empty", `{"a":"A"}`, `{"a":" "}`, `{"a":"A"}`, `eu: "a" is empty`},
		{"bad json", `{"a":`, `{}`, `{}`, `catalog fr/a.json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(catalogFS(tt.fr, tt.eu, tt.en))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Load error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadMergesFilesAndRefusesDuplicates(t *testing.T) {
	fsys := catalogFS(`{"a":"A"}`, `{"a":"A"}`, `{"a":"A"}`)
	for _, l := range []string{"fr", "eu", "en"} {
		fsys[l+"/b.json"] = &fstest.MapFile{Data: []byte(`{"b":"B"}`)}
	}
	c, err := Load(fsys)
	if err != nil || !c.Has("a") || !c.Has("b") {
		t.Fatalf("merge: %v", err)
	}
	fsys["eu/c.json"] = &fstest.MapFile{Data: []byte(`{"a":"again"}`)}
	if _, err := Load(fsys); err == nil || !strings.Contains(err.Error(), "defined twice") {
		t.Fatalf("duplicate key: %v", err)
	}
}

func TestT(t *testing.T) {
	c, err := Load(catalogFS(`{"hi":"Bonjour {name}"}`, `{"hi":"Kaixo {name}"}`, `{"hi":"Hello {name}"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.T(EU, "hi", map[string]string{"name": "Miren"}); got != "Kaixo Miren" {
		t.Errorf("T(eu) = %q", got)
	}
	if got := c.T("xx", "hi", nil); got != "Bonjour {name}" {
		t.Errorf("unknown language falls back to French: %q", got)
	}
	if got := c.T(EN, "nope", nil); got != "nope" {
		t.Errorf("unknown key = %q, want the key itself", got)
	}
}

// TestTPlaceholders holds T's filling to what the regular expression it
// replaced did: every occurrence filled, an unknown name left as written,
// braces that are no placeholder left alone.
func TestTPlaceholders(t *testing.T) {
	const msg = `{n} sur {total} : {n}{unit} {Big} {} {missing}.`
	c, err := Load(catalogFS(`{"m":"`+msg+`","plain":"{ rien }"}`, `{"m":"`+msg+`","plain":"x"}`, `{"m":"`+msg+`","plain":"y"}`))
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]string{"n": "3", "total": "10", "unit": " kg", "Big": "no"}
	if got, want := c.T(FR, "m", args), `3 sur 10 : 3 kg {Big} {} {missing}.`; got != want {
		t.Errorf("T = %q, want %q", got, want)
	}
	if got := c.T(FR, "m", nil); got != msg {
		t.Errorf("T without arguments = %q, want the message as written", got)
	}
	if got := c.T(FR, "plain", args); got != "{ rien }" {
		t.Errorf("T of a message without placeholder = %q", got)
	}
}

// BenchmarkT is the cost of one translation with two placeholders, as a
// template's {{.T "key" "name" value}} pays it.
func BenchmarkT(b *testing.B) {
	c, err := Load(catalogFS(`{"m":"{count} photos au plus, {mb} Mo chacune"}`, `{"m":"{count} {mb}"}`, `{"m":"{count} {mb}"}`))
	if err != nil {
		b.Fatal(err)
	}
	args := map[string]string{"count": "5", "mb": "10"}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.T(FR, "m", args)
	}
}

// The documents' Wording passes its placeholders to T as Args makes them.
func TestWordingTr(t *testing.T) {
	var gotKey string
	var gotArgs map[string]string
	w := Wording{Lang: "eu", T: func(key string, args map[string]string) string {
		gotKey, gotArgs = key, args
		return "ok"
	}}
	if w.Tr("doc.title", "name", "Baiona", "year", "2026", "dangling") != "ok" || gotKey != "doc.title" ||
		len(gotArgs) != 2 || gotArgs["name"] != "Baiona" || gotArgs["year"] != "2026" {
		t.Errorf("Tr: key %q, args %v", gotKey, gotArgs)
	}
	if w.Tr("doc.plain"); gotArgs != nil {
		t.Errorf("Tr without placeholders: args %v, want nil", gotArgs)
	}
}
