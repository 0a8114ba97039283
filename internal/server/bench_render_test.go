package server_test

import (
	"strconv"
	"testing"

	"github.com/berriz/berriz/internal/loadtest"
	"github.com/berriz/berriz/internal/server"
)

// BenchmarkDevicePage is the staff device page served in process, without
// network or load: one request through the whole handler chain (session
// and device page in one statement, template, gzip), as BenchmarkTagLookup's page target makes
// it, measured in CPU per request rather than throughput. Its
// sub-benchmarks render from the templates written in the language at
// start (as served) and from the templates as written, to see what the
// former saves (render_translate.go); "memoized" serves each page's bytes
// rendered the first time (the load benchmark's page-memo bound: the
// request without its rendering).
func BenchmarkDevicePage(b *testing.B) {
	env, stop := startBenchServer(b)
	defer stop()
	inv := seedBenchInventory(b, env)
	tech := inv.Techs[0]
	cookie := benchSignIn(b, env.URL, tech.User.Email)
	h := env.Server.Handler()
	for _, v := range []struct {
		name        string
		plain, memo bool
	}{{"translated", false, false}, {"as-written", true, false}, {"memoized", false, true}} {
		b.Run(v.name, func(b *testing.B) {
			server.SetPlainTemplates(env.Server, v.plain)
			defer server.SetPlainTemplates(env.Server, false)
			server.SetMemoizedPages(env.Server, v.memo)
			defer server.SetMemoizedPages(env.Server, false)
			serve := func(d benchDevice) {
				benchServe(b, h, "/devices/"+strconv.FormatInt(d.ID, 10),
					"Cookie", cookie, "Accept-Language", "fr", "Accept-Encoding", "gzip")
			}
			if v.memo { // every page rendered once before the clock runs
				for _, d := range tech.Devices {
					serve(d)
				}
				b.ResetTimer()
			}
			b.ReportAllocs()
			n := 0
			cpu := loadtest.CPUTime()
			for b.Loop() {
				serve(tech.Devices[n%len(tech.Devices)])
				n++
			}
			// This process's CPU (the server's, no client here): wall
			// time also counts the waits for PostgreSQL.
			b.ReportMetric(float64(loadtest.CPUTime()-cpu)/float64(b.N)/1e3, "cpu-us/op")
		})
	}
}

// BenchmarkTagJSON is the JSON lookup by tag code served in process, as
// BenchmarkTagLookup's json target makes it (bearer token and tag in one
// statement, an 860-byte answer sent uncompressed): CPU per request without network or
// load.
func BenchmarkTagJSON(b *testing.B) {
	env, stop := startBenchServer(b)
	defer stop()
	inv := seedBenchInventory(b, env)
	tech := inv.Techs[0]
	h := env.Server.Handler()
	b.ReportAllocs()
	n := 0
	cpu := loadtest.CPUTime()
	for b.Loop() {
		d := tech.Devices[n%len(tech.Devices)]
		n++
		benchServe(b, h, "/api/v1/tags/"+d.Code,
			"Authorization", "Bearer "+tech.Token, "Accept", "application/json", "Accept-Encoding", "gzip")
	}
	b.ReportMetric(float64(loadtest.CPUTime()-cpu)/float64(b.N)/1e3, "cpu-us/op")
}
