package allocation

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/berriz"
)

func TestCheckReservations(t *testing.T) {
	got, err := CheckReservations([]int64{7, 3, 7, 5})
	if err != nil || !slices.Equal(got, []int64{3, 5, 7}) {
		t.Fatalf("%v, %v", got, err)
	}
	for _, c := range []struct {
		ids []int64
		key string
	}{
		{nil, "error.invalid_fields"},
		{[]int64{0, 4}, "error.invalid_fields"},
		{make([]int64, MaxHandoverDevices+1), "error.invalid_fields"}, // zeros first
	} {
		if _, err := CheckReservations(c.ids); berriz.KindOf(err) != berriz.Invalid || berriz.As(err).Message != c.key {
			t.Errorf("%d ids: %v", len(c.ids), err)
		}
	}
	many := make([]int64, MaxHandoverDevices+1)
	for i := range many {
		many[i] = int64(i + 1)
	}
	if _, err := CheckReservations(many); berriz.As(err).Message != "handover.error.too_many" ||
		berriz.As(err).Args["max"] != fmt.Sprint(MaxHandoverDevices) {
		t.Errorf("too many: %v", err)
	}
	if _, err := CheckReservations(many[:MaxHandoverDevices]); err != nil {
		t.Errorf("the maximum: %v", err)
	}
}

func TestParseAnswerAndReason(t *testing.T) {
	for _, a := range Answers {
		if got, err := ParseAnswer(" " + string(a) + " "); err != nil || got != a || a.Key() == "" {
			t.Errorf("%s: %q %v", a, got, err)
		}
	}
	if got, err := ParseAnswer(""); err != nil || got != "" {
		t.Errorf("no answer: %q %v", got, err)
	}
	if _, err := ParseAnswer("bought_twice"); berriz.As(err).Fields[FieldAnswer] != "handover.error.answer" {
		t.Errorf("unknown answer: %v", err)
	}
	cases := []struct{ in, want, key string }{
		{"  L'écran clignote\r\nau démarrage ", "L'écran clignote\nau démarrage", ""},
		{"   ", "", "handover.error.reason_required"},
		{strings.Repeat("é", MaxReasonRunes), strings.Repeat("é", MaxReasonRunes), ""},
		{strings.Repeat("é", MaxReasonRunes+1), "", "handover.error.reason_long"},
		{"bip\x07", "", "error.invalid_text"},
	}
	for _, c := range cases {
		got, err := CheckReason(c.in)
		if got != c.want || c.key == "" && err != nil || c.key != "" && berriz.As(err).Fields[FieldReason] != c.key {
			t.Errorf("%.20q: %q, %v", c.in, got, err)
		}
	}
}

func TestHandoverStatesAndNumber(t *testing.T) {
	for _, s := range []HandoverState{HandoverPrepared, HandoverConfirmed, HandoverCancelled} {
		if !s.Valid() || !strings.HasPrefix(s.Key(), "handover.state.") {
			t.Errorf("state %s", s)
		}
	}
	if HandoverState("lost").Valid() {
		t.Error("unknown state valid")
	}
	if n := HandoverNumber(2026, 123); n != "BRZ-H-2026-000123" {
		t.Errorf("number %s", n)
	}
	if len(HandoverKeys()) < len(receiptKeys)+7 {
		t.Errorf("%d keys", len(HandoverKeys()))
	}
}

// testWording writes each key with its arguments, so the test sees where
// each piece of text comes from.
func testWording(lang string) Wording {
	return Wording{Lang: lang,
		T: func(key string, args map[string]string) string {
			s := lang + ":" + key
			for _, k := range []string{"number", "name", "commune", "count", "workshop", "n", "total"} {
				if v, ok := args[k]; ok {
					s += " " + k + "=" + v
				}
			}
			return s
		},
		Time: func(t time.Time) string { return t.UTC().Format("02/01/2006 15:04") }}
}

func receiptPDFText(t *testing.T, doc []byte) string {
	t.Helper()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("BERRIZ_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("pdftotext is missing: run deploy/local/poppler.sh")
		}
		t.Skip("pdftotext is missing: run deploy/local/poppler.sh")
	}
	f := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-enc", "UTF-8", f, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

// A receipt of 40 devices with long names spans pages, names both
// organisations, every device with its tag, serials and certificate, the
// address of each check, and ends with both signature boxes on one page.
func TestReceiptPDF(t *testing.T) {
	r := Receipt{Number: "BRZ-H-2026-000042", IssuedAt: time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC), Lang: "eu", RequestID: 17,
		Purpose: "Classe mobile pour les élèves de CM1 et CM2", DeliveryCommune: "64102",
		Beneficiary: Party{Name: "École élémentaire publique Jules Ferry — Baiona", Commune: "64102"},
		Workshop:    Party{Name: "Atelier de reconditionnement Berriz Lapurdi", Commune: "64122"},
		Donors:      []Party{{Name: "Communauté d'agglomération Pays basque", Commune: "64102"}, {Name: "Mairie d'Anglet", Commune: "64024"}}}
	for i := 1; i <= 40; i++ {
		r.Devices = append(r.Devices, ReceiptDevice{ID: int64(i), Tag: fmt.Sprintf("7KQ2-M%03d", i), Category: "laptop",
			Brand: "Lenovo", Model: "ThinkPad T480s", Serial: fmt.Sprintf("PF1ABC%03d", i), Grade: "B",
			Drives: []string{fmt.Sprintf("S4EVNX0M%03d", i)}, Certificate: fmt.Sprintf("BRZ-E-2026-%06d", i),
			CheckToken: fmt.Sprintf("tok%03dAbCdEfGhIjKlMnOpQrSt", i)})
	}
	r.Devices[3].Drives = nil
	doc, err := r.PDF(func(token string) string { return "https://berriz.example.org/c/" + token }, testWording("eu"))
	if err != nil {
		t.Fatal(err)
	}
	raw := receiptPDFText(t, doc)
	pages := strings.Split(strings.TrimRight(raw, "\f\n"), "\f")
	text := strings.Join(strings.Fields(raw), " ")
	if len(pages) < 2 {
		t.Fatalf("%d page(s) for 40 devices", len(pages))
	}
	wants := []string{"eu:handover.receipt.title", "BRZ-H-2026-000042", "École élémentaire publique Jules Ferry — Baiona",
		"Atelier de reconditionnement Berriz Lapurdi", "Communauté d'agglomération Pays basque", "Mairie d'Anglet",
		"eu:handover.receipt.request_value number=17 commune=64102", "Classe mobile pour les élèves de CM1 et CM2",
		"eu:handover.receipt.erasure_statement count=40 workshop=Atelier de reconditionnement Berriz Lapurdi",
		"eu:handover.receipt.sign_name", "eu:handover.receipt.sign_date",
		"eu:handover.receipt.sign_signature", "eu:category.laptop Lenovo ThinkPad T480s"}
	for i := 1; i <= 40; i++ {
		wants = append(wants, fmt.Sprintf("7KQ2-M%03d", i), fmt.Sprintf("PF1ABC%03d", i), fmt.Sprintf("BRZ-E-2026-%06d", i))
		if i != 4 {
			wants = append(wants, fmt.Sprintf("S4EVNX0M%03d", i))
		}
	}
	compact := strings.ReplaceAll(text, " ", "")
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("the receipt lacks %q", w)
		}
	}
	if !strings.Contains(compact, "no_drives") { // wraps in its narrow cell
		t.Error("the receipt does not say a device has no drive")
	}
	for _, i := range []int{1, 40} { // check addresses may wrap in their cell
		if u := fmt.Sprintf("https://berriz.example.org/c/tok%03dAbCdEfGhIjKlMnOpQrSt", i); !strings.Contains(compact, u) {
			t.Errorf("the receipt lacks %s", u)
		}
	}
	last := pages[len(pages)-1]
	for _, w := range []string{"eu:handover.receipt.signatures", "eu:handover.receipt.acknowledge number=BRZ-H-2026-000042 count=40",
		"eu:handover.receipt.sign_beneficiary name=École élémentaire", "eu:handover.receipt.sign_workshop name=Atelier"} {
		if !strings.Contains(strings.Join(strings.Fields(last), " "), w) {
			t.Errorf("the last page lacks %q", w)
		}
	}
	for n, p := range pages {
		if f := fmt.Sprintf("eu:handover.receipt.footer number=BRZ-H-2026-000042 n=%d total=%d", n+1, len(pages)); !strings.Contains(strings.Join(strings.Fields(p), " "), f) {
			t.Errorf("page %d lacks its footer", n+1)
		}
	}
}
