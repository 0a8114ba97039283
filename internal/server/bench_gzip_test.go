package server_test

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/klauspost/compress/gzip"
)

// BenchmarkGzipLevels compresses two real answers at the candidate levels,
// to choose gzip.go's gzipLevel: the staff device page (5.4 KB, as the
// page target serves it) and a 2 MB JSON answer shaped as the observatory
// totals (month × commune rows: a page of totals, up to 10,000 rows,
// exceeds 2 MB). Each sub-benchmark reports the compressed size; ns/op is the
// compression alone, with a writer reused from one answer to the next as
// the middleware's pool reuses it.
func BenchmarkGzipLevels(b *testing.B) {
	env, stop := startBenchServer(b)
	defer stop()
	inv := seedBenchInventory(b, env)
	tech := inv.Techs[0]
	cookie := benchSignIn(b, env.URL, tech.User.Email)
	rec := benchServe(b, env.Server.Handler(), "/devices/"+strconv.FormatInt(tech.Devices[0].ID, 10),
		"Cookie", cookie, "Accept-Language", "fr")
	if enc := rec.Header().Get("Content-Encoding"); enc != "" {
		b.Fatalf("device page sent with encoding %q", enc)
	}
	bodies := []struct {
		name string
		body []byte
	}{{"page", rec.Body.Bytes()}, {"totals-2MB", benchTotalsJSON(b, 2<<20)}}
	type level struct {
		name string
		new  func(io.Writer) (io.WriteCloser, func(io.Writer))
	}
	std := func(l int) func(io.Writer) (io.WriteCloser, func(io.Writer)) {
		return func(w io.Writer) (io.WriteCloser, func(io.Writer)) {
			z, _ := stdgzip.NewWriterLevel(w, l)
			return z, z.Reset
		}
	}
	kp := func(l int) func(io.Writer) (io.WriteCloser, func(io.Writer)) {
		return func(w io.Writer) (io.WriteCloser, func(io.Writer)) {
			z, _ := gzip.NewWriterLevel(w, l)
			return z, z.Reset
		}
	}
	levels := []level{
		{"stdlib-1", std(stdgzip.BestSpeed)},
		{"klauspost-huffman", kp(gzip.HuffmanOnly)},
		{"klauspost-stateless", kp(gzip.StatelessCompression)},
		{"klauspost-1", kp(1)}, {"klauspost-2", kp(2)}, {"klauspost-3", kp(3)},
		{"klauspost-5", kp(5)}, {"klauspost-6", kp(6)},
	}
	for _, body := range bodies {
		for _, l := range levels {
			b.Run(fmt.Sprintf("%s/%s", body.name, l.name), func(b *testing.B) {
				var out bytes.Buffer
				z, reset := l.new(&out)
				b.SetBytes(int64(len(body.body)))
				b.ReportAllocs()
				for b.Loop() {
					out.Reset()
					reset(&out)
					if _, err := z.Write(body.body); err != nil {
						b.Fatal(err)
					}
					if err := z.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(body.body)), "bytes-in")
				b.ReportMetric(float64(out.Len()), "bytes-out")
			})
		}
	}
}

// benchTotalsJSON is an observatory totals answer of at least size bytes,
// grouped by month and commune, with figures as the cube gives them.
func benchTotalsJSON(b *testing.B, size int) []byte {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	t := postgres.Totals{FactorSet: "ademe-2025", FactorSetVersion: "2025.1", MethodVersions: []string{"1"},
		GroupBy: []postgres.TotalsDim{"month", "commune"}}
	for n := 0; ; n++ {
		if n%100 == 0 {
			if raw, _ := json.Marshal(t); len(raw) >= size {
				return raw
			}
		}
		rec := int64(r.IntN(400))
		t.Rows = append(t.Rows, postgres.TotalsRow{
			Month: fmt.Sprintf("%d-%02d", 2020+n/2400%6, 1+n/200%12), Commune: fmt.Sprintf("64%03d", n%200+1),
			Received: rec, Refurbished: rec * 7 / 10, Delivered: rec / 2, Recycled: rec / 5, Dismantled: rec / 20,
			DivertedKg: float64(r.IntN(2000000)) / 1000, NetKg: float64(r.IntN(9000000)) / 1000,
			LowKg: float64(r.IntN(6000000)) / 1000, HighKg: float64(r.IntN(12000000)) / 1000,
			GrossKg: float64(r.IntN(12000000)) / 1000, Results: rec / 2, MethodVersions: []string{"1"},
		})
	}
}
