package erasure

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCatalog stands for the catalogs: it writes the key and its
// arguments, so the test sees which key each piece of text came from.
func testWording(lang string) Wording {
	return Wording{Lang: lang,
		T: func(key string, args map[string]string) string {
			s := lang + ":" + key
			for _, k := range []string{"number", "date", "workshop", "count", "n", "gb", "title", "total"} {
				if v, ok := args[k]; ok {
					s += " " + k + "=" + v
				}
			}
			return s
		},
		Time: func(t time.Time) string { return t.In(paris).Format("02/01/2006 15:04") }}
}

// sampleCertificate is a laptop with n drives, every text at its longest
// plausible length.
func sampleCertificate(n int) Certificate {
	c := Certificate{Number: Number(2026, 123), IssuedAt: now, Lang: "fr", Cycle: 1, Tag: "7KQ2-M9XD",
		Device:   CertifiedDevice{ID: 42, Category: "laptop", Brand: "Hewlett-Packard", Model: "EliteBook 840 G5", Serial: "5CG8123ABC"},
		Donor:    "Communauté d'agglomération Pays basque — direction du numérique",
		Donation: CertifiedDonation{ID: 17, Title: "Renouvellement du parc informatique des services techniques"},
		Workshop: "Atelier de reconditionnement Berriz Lapurdi"}
	for i := 1; i <= n; i++ {
		c.Drives = append(c.Drives, CertifiedDrive{Drive: Drive{Position: i, Type: "hdd", CapacityGB: 1000, Serial: fmt.Sprintf("WD-WCC4N%07d", i)},
			ErasureID: int64(i), Method: PurgeOverwrite, Tool: NWipe, ToolVersion: "0.35", Passes: 3, Verification: Passed,
			StartedAt: now.Add(-5 * time.Hour), EndedAt: now.Add(-time.Hour), Technician: "Ane Etxeberria-Goikoetxea",
			LogSHA256: strings.Repeat(fmt.Sprintf("%x", i%16), 64)})
	}
	return c
}

func pdfText(t *testing.T, doc []byte) string {
	t.Helper()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("BERRIZ_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("pdftotext is missing: run deploy/local/poppler.sh")
		}
		t.Skip("pdftotext is missing: run deploy/local/poppler.sh")
	}
	f := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-enc", "UTF-8", f, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

// The certificate says everything it must, drive by drive, over as many
// pages as eight drives need, each page's footer with its number; a
// device without storage gets the statement that says so.
func TestCertificatePDF(t *testing.T) {
	const url = "https://berriz.example.org/c/AbCdEfGhIjKlMnOpQrStUvWxYz012345"
	c := sampleCertificate(8)
	doc, err := c.PDF(url, testWording("eu"))
	if err != nil {
		t.Fatal(err)
	}
	raw := pdfText(t, doc)
	pages := strings.Split(strings.TrimRight(raw, "\f\n"), "\f")
	text := strings.Join(strings.Fields(raw), " ")
	if len(pages) < 2 {
		t.Fatalf("%d page(s) for eight drives", len(pages))
	}
	for i := range pages {
		want := fmt.Sprintf("eu:erasure.certificate.footer number=BRZ-E-2026-000123 n=%d total=%d", i+1, len(pages))
		if !strings.Contains(strings.Join(strings.Fields(pages[i]), " "), want) {
			t.Errorf("page %d: no footer %q", i+1, want)
		}
	}
	want := []string{"eu:erasure.certificate.title", "eu:erasure.certificate.number number=BRZ-E-2026-000123",
		"eu:erasure.certificate.issued date=14/03/2026 11:00", "7KQ2-M9XD", "eu:category.laptop Hewlett-Packard EliteBook 840 G5",
		"5CG8123ABC", "Communauté d'agglomération Pays basque — direction du numérique",
		"eu:erasure.certificate.donation_value number=17 title=Renouvellement du parc informatique des services techniques",
		"eu:erasure.certificate.statement workshop=Atelier de reconditionnement Berriz Lapurdi count=8", url, "eu:erasure.certificate.check_hash"}
	for i := 1; i <= 8; i++ {
		want = append(want, fmt.Sprintf("eu:erasure.certificate.drive n=%d", i), fmt.Sprintf("WD-WCC4N%07d", i),
			strings.Repeat(fmt.Sprintf("%x", i%16), 64))
	}
	want = append(want, "eu:device.drive.hdd, eu:erasure.certificate.capacity_value gb=1000", "eu:erasure.method.purge_overwrite",
		"eu:erasure.tool.nwipe 0.35 · eu:erasure.certificate.passes_value count=3", "eu:erasure.verification.passed", "14/03/2026 06:00 – 14/03/2026 10:00", "Ane Etxeberria-Goikoetxea")
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%q not in the certificate:\n%s", w, text)
		}
	}
	if n := strings.Count(text, "Ane Etxeberria-Goikoetxea"); n != 8 {
		t.Errorf("technician named %d times, want 8", n)
	}

	none := sampleCertificate(0)
	none.Drives = nil
	doc, err = none.PDF(url, testWording("fr"))
	if err != nil {
		t.Fatal(err)
	}
	text = strings.Join(strings.Fields(pdfText(t, doc)), " ")
	for _, w := range []string{"fr:erasure.certificate.no_drives", "fr:erasure.certificate.statement_none workshop=Atelier", url} {
		if !strings.Contains(text, w) {
			t.Errorf("%q not in the certificate without drives:\n%s", w, text)
		}
	}
	if strings.Contains(text, "fr:erasure.certificate.statement workshop") {
		t.Error("the statement about erased drives on a device without drives")
	}
}

// Every key the package names is a key the catalogs must have; the server
// tests hold the catalogs to Keys.
func TestKeysAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Keys() {
		if seen[k] || !strings.HasPrefix(k, "erasure.") {
			t.Errorf("key %q twice or outside erasure.*", k)
		}
		seen[k] = true
	}
	for _, m := range Methods {
		if !seen[m.Key()] {
			t.Errorf("%s: key not listed", m)
		}
	}
	for _, tool := range Tools {
		if !seen[tool.Key()] {
			t.Errorf("%s: key not listed", tool)
		}
	}
}
