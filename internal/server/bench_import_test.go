package server_test

import (
	"bytes"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/loadtest"
)

// BenchmarkImportPage is a donor importing a 10,000-line CSV through the
// import page, as the browser does it: the file uploaded (POST
// /donations/import: parsed, checked, previewed) then the import confirmed
// (POST /donations/import/confirm: parsed again, the donation and its
// 10,000 devices inserted in one transaction, 303 to the donation). One
// operation is both requests, over HTTP to berriz as `berriz serve` runs
// it. BenchmarkImportCSV (internal/postgres) measures the import alone;
// this is what the donor waits for. Issue 4's target: under 3 s.
func BenchmarkImportPage(b *testing.B) {
	env, stop := startBenchServer(b)
	defer stop()
	donor := env.MustOrg(b, account.KindCommune, "Mairie de Bayonne")
	agent := env.MustUser(b, donor.ID, "Agent", true)
	br := env.SignIn(b, agent.Email)
	file := benchImportCSV(10000)
	hidden := func(page, name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			b.Fatalf("preview: no %s field", name)
		}
		return html.UnescapeString(m[1])
	}
	cpu, n := loadtest.CPUTime(), 0
	for b.Loop() {
		n++
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		_ = w.WriteField("csrf", br.CSRF)
		_ = w.WriteField("title", fmt.Sprintf("Renouvellement du parc %d", n))
		fw, _ := w.CreateFormFile("file", "parc.csv")
		_, _ = fw.Write(file)
		_ = w.Close()
		resp, page := br.Do(http.MethodPost, "/donations/import", &body, "Content-Type", w.FormDataContentType())
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("upload: %d\n%.2000s", resp.StatusCode, page)
		}
		form := url.Values{}
		for _, f := range []string{"title", "notes", "donor", "payload", "signature"} {
			form.Set(f, hidden(page, f))
		}
		resp, page = br.PostForm("/donations/import/confirm", form)
		if resp.StatusCode != http.StatusSeeOther {
			b.Fatalf("confirm: %d\n%.2000s", resp.StatusCode, page)
		}
	}
	b.ReportMetric(float64(loadtest.CPUTime()-cpu)/float64(b.N)/1e9, "cpu-s/op")
	b.ReportMetric(10000, "lines")
	b.ReportMetric(float64(len(file))/1e6, "MB")
}

// benchImportCSV writes n lines of one device each, with a serial, as a
// commune's IT department exports them.
func benchImportCSV(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString("category,brand,model,serial,year,quantity,storage_drives,weight_kg,notes\n")
	for i := range n {
		c := benchCategories[i%len(benchCategories)]
		fmt.Fprintf(&buf, "%s,%s,%s,SN%07d,%d,1,%d,%.1f,\"Poste n° %d, service informatique\"\n", c.category, c.brand, c.model,
			i, 2016+i%6, c.drives, c.weight, i)
	}
	return buf.Bytes()
}
