package server

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/web"
)

// digestTestCatalogs are the real catalogs plus one notification kind, as
// an area would add it, so that messages with placeholders are tested
// before any area's kinds exist.
func digestTestCatalogs(t *testing.T) *i18n.Catalogs {
	t.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(web.Catalogs(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.Catalogs(), p)
		fsys[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for lang, msg := range map[string]string{
		"fr": "Votre demande {request} est approuvée.",
		"eu": "Zure {request} eskaera onartu da.",
		"en": "Your request {request} was approved.",
	} {
		fsys[lang+"/zz_digest_test.json"] = &fstest.MapFile{Data: []byte(`{"notify.test_approved": "` + msg + `"}`)}
	}
	cat, err := i18n.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func TestComposeDigest(t *testing.T) {
	cat := digestTestCatalogs(t)
	paris := accountZone()
	at := func(h, m int) time.Time { return time.Date(2026, 5, 14, h, m, 0, 0, paris) }
	n := func(id int64, kind, req, link string, when time.Time) postgres.Notification {
		return postgres.Notification{ID: id, Kind: kind, Args: map[string]string{"request": req}, Link: link, CreatedAt: when}
	}
	d := postgres.Digest{UserID: 7, Email: "ane@marracq.example", Name: "Ane\nEtxeberria", Lang: "fr",
		ClaimedAt: at(7, 0), More: 12,
		Items: []postgres.Notification{ // newest first, as claimed
			n(5, "notify.test_approved", "D-12", "/requests/12", at(6, 40)),
			n(4, "notify.test_approved", "D-9\r\nBcc: x", "/requests/9", at(6, 30)),
			n(3, "notify.unknown_kind", "", "/requests/12", at(6, 20)),
			n(2, "account.title", "", "https://evil.example/", at(6, 10)),
			n(1, "notify.test_approved", "D-3", "", at(6, 0)),
		}}
	m, unknown := composeDigest(cat, "https://berriz.example.eus", 7, d)
	if m.To != `"Ane Etxeberria" <ane@marracq.example>` {
		t.Errorf("to %q", m.To)
	}
	if m.Subject != "berriz : votre résumé du 14/05/2026" {
		t.Errorf("subject %q", m.Subject)
	}
	if strings.Join(unknown, ",") != "notify.unknown_kind,account.title" {
		t.Errorf("unknown kinds %v", unknown)
	}
	// Grouped by page, groups in the order of their newest notification;
	// an unknown kind and a kind that is no notification say "something
	// changed"; a link outside berriz is dropped.
	want := `Bonjour Ane Etxeberria,

Voici ce qui vous concerne sur berriz depuis votre dernier résumé, du plus récent au plus ancien :

- 14/05/2026 06:40  Votre demande D-12 est approuvée.
- 14/05/2026 06:20  Quelque chose a changé.
  https://berriz.example.eus/fr/requests/12

- 14/05/2026 06:30  Votre demande D-9 Bcc: x est approuvée.
  https://berriz.example.eus/fr/requests/9

- 14/05/2026 06:10  Quelque chose a changé.
- 14/05/2026 06:00  Votre demande D-3 est approuvée.

Et 12 notification(s) plus ancienne(s), à lire sur berriz : https://berriz.example.eus/fr/account/notifications

Vous recevez ce résumé au plus une fois par jour, à partir de 7 h, seulement s'il y a du nouveau. Toutes vos notifications : https://berriz.example.eus/fr/account/notifications
Pour ne plus recevoir ces e-mails, choisissez « Non » sous « Notifications par e-mail » dans votre compte : https://berriz.example.eus/fr/account#notifications

— berriz
`
	if m.Text != want {
		t.Errorf("text:\n%s\nwant:\n%s", m.Text, want)
	}

	// In the user's language, without "more" when everything is listed.
	d.Lang, d.More, d.Items = "eu", 0, d.Items[:1]
	m, unknown = composeDigest(cat, "https://berriz.example.eus", 7, d)
	if m.Subject != "berriz: zure eguneko laburpena (2026/05/14)" || len(unknown) != 0 {
		t.Errorf("eu subject %q, unknown %v", m.Subject, unknown)
	}
	for _, w := range []string{"Kaixo Ane Etxeberria,", "- 2026/05/14 06:40  Zure D-12 eskaera onartu da.",
		"https://berriz.example.eus/eu/requests/12", "https://berriz.example.eus/eu/account#notifications"} {
		if !strings.Contains(m.Text, w) {
			t.Errorf("eu text lacks %q:\n%s", w, m.Text)
		}
	}
	if strings.Contains(m.Text, "zaharrago") {
		t.Errorf("eu text says there is more:\n%s", m.Text)
	}
	// An unknown language falls back to French.
	d.Lang = "de"
	if m, _ = composeDigest(cat, "https://b.example", 7, d); !strings.HasPrefix(m.Text, "Bonjour") {
		t.Errorf("unknown language: %q", m.Text)
	}
}

func TestDigestDayStart(t *testing.T) {
	paris := accountZone()
	tests := []struct {
		now  time.Time
		hour int
		want time.Time // zero: not due
	}{
		{time.Date(2026, 5, 14, 6, 59, 59, 0, paris), 7, time.Time{}},
		{time.Date(2026, 5, 14, 7, 0, 0, 0, paris), 7, time.Date(2026, 5, 14, 7, 0, 0, 0, paris)},
		{time.Date(2026, 5, 14, 23, 59, 0, 0, paris), 7, time.Date(2026, 5, 14, 7, 0, 0, 0, paris)},
		{time.Date(2026, 5, 15, 0, 30, 0, 0, paris), 7, time.Time{}},
		{time.Date(2026, 5, 15, 0, 30, 0, 0, paris), 0, time.Date(2026, 5, 15, 0, 0, 0, 0, paris)},
		// Paris time, whatever the clock's zone: 05:30 UTC is 07:30 in summer, 06:30 in winter.
		{time.Date(2026, 7, 1, 5, 30, 0, 0, time.UTC), 7, time.Date(2026, 7, 1, 7, 0, 0, 0, paris)},
		{time.Date(2026, 1, 15, 5, 30, 0, 0, time.UTC), 7, time.Time{}},
		// The day clocks go forward: 02:00 does not exist, the day starts at 03:00.
		{time.Date(2026, 3, 29, 3, 10, 0, 0, paris), 2, time.Date(2026, 3, 29, 3, 0, 0, 0, paris)},
	}
	for _, tt := range tests {
		got, due := digestDayStart(tt.now, tt.hour)
		if due != !tt.want.IsZero() || due && !got.Equal(tt.want) {
			t.Errorf("digestDayStart(%v, %d) = %v, %v; want %v", tt.now, tt.hour, got, due, tt.want)
		}
	}
}

func TestSafeLinkAndPlainText(t *testing.T) {
	for link, want := range map[string]string{
		"/requests/12": "/requests/12", "/handovers/3?x=1#a": "/handovers/3?x=1#a",
		"": "", "requests/12": "", "//evil.example/x": "", "https://evil.example/": "", "/a\\b": "",
		"/a b": "", "/a\nb": "", "javascript:alert(1)": "",
	} {
		if got := safeLink(link); got != want {
			t.Errorf("safeLink(%q) = %q, want %q", link, got, want)
		}
	}
	if got := plainText("Ane\r\nEtxe\u2028berria\t!"); got != "Ane Etxe berria !" {
		t.Errorf("plainText = %q", got)
	}
}
