package server

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The hand-written encoders of the totals write exactly the bytes of
// encoding/json (c.JSON) and encoding/csv, for plain and awkward values.
func TestObservatoryEncodeSameBytes(t *testing.T) {
	odd := []string{"", "64102", "a<b&c>", `q"uote`, `back\slash`, "é", " lead", "\ttab", "x,y", "line\nbreak", "cr\r",
		`\.`, "\u2028", "\x01", string([]byte{0xff, 'a'}), "\u00a0nbsp"}
	floats := []float64{0, 1, -0.5, 123456.789, 1e-7, 1.5e-9, 0.000001, 1e20, 1e21, 3.2e25, -2e-8, 0.1 + 0.2}
	var rows []postgres.TotalsRow
	for i, s := range odd {
		f := floats[i%len(floats)]
		rows = append(rows, postgres.TotalsRow{Month: s, Category: odd[(i+1)%len(odd)], DonorKind: odd[(i+2)%len(odd)],
			BeneficiaryKind: odd[(i+3)%len(odd)], Commune: odd[(i+4)%len(odd)], Received: int64(i), Refurbished: -int64(i),
			Delivered: 1 << 40, Recycled: 7, Dismantled: 0, DivertedKg: f, NetKg: floats[(i+1)%len(floats)],
			LowKg: floats[(i+2)%len(floats)], HighKg: floats[(i+3)%len(floats)], GrossKg: -f, Results: int64(i * 3),
			MethodVersions: [][]string{nil, {}, {"m1"}, {"m1", s}}[i%4]})
	}
	all := []postgres.TotalsDim{postgres.DimCommune, postgres.DimMonth, postgres.DimCategory, postgres.DimDonorKind,
		postgres.DimBeneficiaryKind}
	cases := []postgres.Totals{
		{FactorSet: "fr-ademe-2025", FactorSetVersion: "2025.1", MethodVersions: []string{}, GroupBy: []postgres.TotalsDim{},
			Rows: []postgres.TotalsRow{{MethodVersions: []string{}}}},
		{FactorSet: "s<&>", FactorSetVersion: `v"1`, MethodVersions: []string{"a", "b"}, GroupBy: all, Rows: rows,
			NextCursor: postgres.EncodeTotalsCursor([]string{"64102", "2026-01", "a<b&c>"})},
		{FactorSet: "x", GroupBy: nil, Rows: nil},
		{FactorSet: "y", GroupBy: []postgres.TotalsDim{postgres.DimMonth}, Rows: []postgres.TotalsRow{}},
	}
	// Big enough to cross the writers' buffers.
	big := postgres.Totals{FactorSet: "fr-ademe-2025", FactorSetVersion: "1", MethodVersions: []string{"m"},
		GroupBy: []postgres.TotalsDim{postgres.DimMonth, postgres.DimCommune}}
	for i := range 9000 {
		big.Rows = append(big.Rows, postgres.TotalsRow{Month: "2026-01", Commune: "64" + strings.Repeat("1", i%4),
			Received: int64(i), DivertedKg: float64(i) * 1.001, NetKg: -float64(i) / 7, MethodVersions: []string{"m"}})
	}
	cases = append(cases, big)
	for i, tt := range cases {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(tt); err != nil {
			t.Fatal(err)
		}
		rec, c := encodeContext()
		if err := writeTotalsJSON(c, tt); err != nil {
			t.Fatal(err)
		}
		if got := rec.Body.String(); got != want.String() {
			t.Errorf("case %d: JSON differs\n got %.400q\nwant %.400q", i, got, want.String())
		}
		if ct := rec.Header().Get(echo.HeaderContentType); ct != echo.MIMEApplicationJSON {
			t.Errorf("case %d: content type %q", i, ct)
		}

		want.Reset()
		w := csv.NewWriter(&want)
		head := []string{}
		for _, d := range tt.GroupBy {
			head = append(head, string(d))
		}
		_ = w.Write(append(head, "factor_set", "factor_set_version", "method_versions", "received", "refurbished", "delivered",
			"recycled", "dismantled", "diverted_kg", "co2e_net_kg", "co2e_low_kg", "co2e_high_kg", "co2e_gross_kg", "results"))
		for _, r := range tt.Rows {
			rec := []string{}
			for _, d := range tt.GroupBy {
				rec = append(rec, rowKey(r, d))
			}
			_ = w.Write(append(rec, tt.FactorSet, tt.FactorSetVersion, strings.Join(r.MethodVersions, " "),
				i64(r.Received), i64(r.Refurbished), i64(r.Delivered), i64(r.Recycled), i64(r.Dismantled),
				ftoa(r.DivertedKg), ftoa(r.NetKg), ftoa(r.LowKg), ftoa(r.HighKg), ftoa(r.GrossKg), i64(r.Results)))
		}
		w.Flush()
		rec, c = encodeContext()
		if err := writeTotalsCSV(c, tt); err != nil {
			t.Fatal(err)
		}
		if got := rec.Body.String(); got != want.String() {
			t.Errorf("case %d: CSV differs\n got %.400q\nwant %.400q", i, got, want.String())
		}
	}
}

// appendKg writes what strconv writes, for figures at three decimals and
// for any other float.
func TestObservatoryEncodeKg(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	check := func(f float64) {
		t.Helper()
		want := strconv.FormatFloat(f, 'f', -1, 64)
		if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
			return // JSON's exponent form: appendJSONFloat, tested above
		}
		if got := string(appendKg(nil, f)); got != want {
			t.Fatalf("%v: got %s, want %s", f, got, want)
		}
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 0.001, -0.001, 0.1, 0.12, 0.125, 1, 10, 100.5, 999999999999.999,
		1e12, -1e12, 1e12 + 0.5, 123456.7, 0.1 + 0.2, 1.0005, 2.675, 1e-3 / 3} {
		check(f)
	}
	for range 200000 {
		n := rnd.Int64N(2e15) - 1e15
		check(math.Round(float64(n)/1000*1000) / 1000)
		check(float64(n) / 1000)
		check(float64(n%1e9) / 1000)
		check(rnd.NormFloat64() * math.Pow(10, float64(rnd.IntN(30)-10)))
	}
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func encodeContext() (*httptest.ResponseRecorder, *echo.Context) {
	rec := httptest.NewRecorder()
	return rec, echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec)
}

// BenchmarkObservatoryEncode: the month × commune answer's size.
func BenchmarkObservatoryEncode(b *testing.B) {
	t := postgres.Totals{FactorSet: "fr-ademe-2025", FactorSetVersion: "1", MethodVersions: []string{"m"},
		GroupBy: []postgres.TotalsDim{postgres.DimMonth, postgres.DimCommune}}
	for i := range 8655 {
		t.Rows = append(t.Rows, postgres.TotalsRow{Month: "2026-01", Commune: "64102", Received: int64(i), Delivered: 3,
			DivertedKg: float64(i) * 1.001, NetKg: 12.345, LowKg: 1.5, HighKg: 100.25, GrossKg: 50.125, Results: 3,
			MethodVersions: []string{"m"}})
	}
	b.Run("json.Encoder", func(b *testing.B) {
		for range b.N {
			_ = json.NewEncoder(io.Discard).Encode(t)
		}
	})
	b.Run("writeTotalsJSON", func(b *testing.B) {
		e := echo.New()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		for range b.N {
			_ = writeTotalsJSON(e.NewContext(req, discardResponse{httptest.NewRecorder()}), t)
		}
	})
}

// discardResponse drops the body: the benchmark measures the encoding.
type discardResponse struct{ *httptest.ResponseRecorder }

func (discardResponse) Write(b []byte) (int, error) { return len(b), nil }
