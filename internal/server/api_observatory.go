package server

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// The observatory's API (docs/observatory.md, openapi/observatory.json):
// read-only totals from the maintained cube and the anonymous open-data
// export of delivered devices, in JSON or CSV (Accept: text/csv, or the
// .csv path). Answers carry a strong ETag derived from the cube's version
// and the query, so a client's If-None-Match is answered 304 without any
// aggregation.

func (s *Server) observatoryRoutes() []Route {
	const v1 = "/api/v1/observatory"
	return []Route{
		{http.MethodGet, v1 + "/totals", "api_observatory_totals", Observatory, s.apiObservatoryTotals},
		{http.MethodGet, v1 + "/totals.csv", "api_observatory_totals_csv", Observatory, s.apiObservatoryTotals},
		{http.MethodGet, v1 + "/delivered-devices", "api_observatory_delivered", Observatory, s.apiObservatoryDelivered},
		{http.MethodGet, v1 + "/delivered-devices.csv", "api_observatory_delivered_csv", Observatory, s.apiObservatoryDelivered},
	}
}

// wantsCSV: the .csv path, or an Accept header that prefers text/csv.
func wantsCSV(c *echo.Context) bool {
	if strings.HasSuffix(c.Request().URL.Path, ".csv") {
		return true
	}
	return strings.Contains(c.Request().Header.Get("Accept"), "text/csv")
}

// monthParam reads a month or an ISO date (its month).
func monthParam(c *echo.Context, name string, f berriz.FieldErrors) string {
	v := strings.TrimSpace(c.QueryParam(name))
	if v == "" {
		return ""
	}
	m, ok := postgres.ParseMonth(v)
	if !ok {
		f.Add(name, "observatory.error.month")
	}
	return m
}

// defaultTotalsLimit is the page size of the totals when the client gives
// none: about 270 KB of JSON at most.
const defaultTotalsLimit = 1000

// totalsQuery reads the totals' query parameters.
func totalsQuery(c *echo.Context) (postgres.TotalsQuery, error) {
	f := berriz.FieldErrors{}
	q := postgres.TotalsQuery{From: monthParam(c, "from", f), To: monthParam(c, "to", f),
		Category: c.QueryParam("category"), DonorKind: c.QueryParam("donor_kind"),
		BeneficiaryKind: c.QueryParam("beneficiary_kind"), Commune: strings.ToUpper(c.QueryParam("commune")),
		FactorSet: c.QueryParam("factor_set")}
	dims, ok := postgres.ParseTotalsDims(c.QueryParam("group"))
	if !ok {
		f.Add("group", "observatory.error.group")
	}
	q.GroupBy = dims
	q.Limit = defaultTotalsLimit
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			f.Add("limit", "observatory.error.limit")
		}
		q.Limit = n
	}
	if v := c.QueryParam("after"); v != "" {
		if q.After, ok = postgres.DecodeTotalsCursor(v); !ok {
			f.Add("after", "observatory.error.after")
		}
	}
	if err := f.Err(); err != nil {
		return q, err
	}
	return q, q.Validate()
}

// observatoryETag answers 304 when the client has the answer already: the
// version names the state of every figure, the key the question asked.
// It returns true when the 304 is sent.
func (s *Server) observatoryETag(c *echo.Context, key string) (bool, error) {
	version, err := s.store.ObservatoryVersion(c.Request().Context())
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256([]byte(version + "\n" + key))
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	h := c.Response().Header()
	h.Set("ETag", etag)
	// Public aggregates: a client may keep them, and must ask again.
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Vary", "Accept")
	if etagMatches(c.Request().Header.Get("If-None-Match"), etag) {
		return true, c.NoContent(http.StatusNotModified)
	}
	return false, nil
}

// apiObservatoryTotals is GET /observatory/totals(.csv).
func (s *Server) apiObservatoryTotals(c *echo.Context) error {
	q, err := totalsQuery(c)
	if err != nil {
		return err
	}
	asCSV := wantsCSV(c)
	if done, err := s.observatoryETag(c, "totals\n"+strconv.FormatBool(asCSV)+"\n"+c.Request().URL.RawQuery); done || err != nil {
		return err
	}
	t, err := s.store.ObservatoryTotals(c.Request().Context(), q)
	if err != nil {
		return err
	}
	if t.NextCursor != "" {
		// The same query, after this page's last row.
		u := *c.Request().URL
		v := u.Query()
		v.Set("after", t.NextCursor)
		u.RawQuery = v.Encode()
		c.Response().Header().Set("Link", "<"+u.RequestURI()+`>; rel="next"`)
	}
	if !asCSV {
		return writeTotalsJSON(c, t)
	}
	return writeTotalsCSV(c, t)
}

func rowKey(r postgres.TotalsRow, d postgres.TotalsDim) string {
	switch d {
	case postgres.DimMonth:
		return r.Month
	case postgres.DimCategory:
		return r.Category
	case postgres.DimDonorKind:
		return r.DonorKind
	case postgres.DimBeneficiaryKind:
		return r.BeneficiaryKind
	}
	return r.Commune
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func startCSV(c *echo.Context, name string) {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	c.Response().WriteHeader(http.StatusOK)
}

// apiObservatoryDelivered is GET /observatory/delivered-devices(.csv):
// every delivery, one anonymous row each, streamed page by page.
func (s *Server) apiObservatoryDelivered(c *echo.Context) error {
	f := berriz.FieldErrors{}
	q := postgres.DeliveriesQuery{From: monthParam(c, "from", f), To: monthParam(c, "to", f), FactorSet: c.QueryParam("factor_set")}
	if err := f.Err(); err != nil {
		return err
	}
	if err := (postgres.TotalsQuery{From: q.From, To: q.To}).Validate(); err != nil {
		return err
	}
	asCSV := wantsCSV(c)
	if done, err := s.observatoryETag(c, "delivered\n"+strconv.FormatBool(asCSV)+"\n"+c.Request().URL.RawQuery); done || err != nil {
		return err
	}
	ctx := c.Request().Context()
	resp := c.Response()
	flush := func() {
		if fl, ok := resp.(http.Flusher); ok {
			fl.Flush()
		}
	}
	n := 0
	if asCSV {
		w := csv.NewWriter(resp)
		err := s.store.ObservatoryDeliveries(ctx, q, func(string, string) error {
			startCSV(c, "berriz-delivered-devices.csv")
			return w.Write([]string{"month", "category", "grade", "donor_kind", "beneficiary_kind", "commune", "weight_kg",
				"co2e_net_kg", "co2e_low_kg", "co2e_high_kg", "factor_set", "method_version"})
		}, func(r postgres.DeliveryRow) error {
			if n++; n%1000 == 0 {
				w.Flush()
				flush()
			}
			return w.Write([]string{r.Month, r.Category, r.Grade, r.DonorKind, r.BeneficiaryKind, r.Commune, ftoa(r.WeightKg),
				optFloat(r.NetKg), optFloat(r.LowKg), optFloat(r.HighKg), r.FactorSet, r.MethodVersion})
		})
		w.Flush()
		if err == nil {
			err = w.Error()
		}
		return err
	}
	enc := json.NewEncoder(resp)
	err := s.store.ObservatoryDeliveries(ctx, q, func(set, version string) error {
		resp.Header().Set(echo.HeaderContentType, "application/json")
		resp.WriteHeader(http.StatusOK)
		head, _ := json.Marshal(map[string]string{"factor_set": set, "factor_set_version": version})
		_, err := resp.Write(append(head[:len(head)-1], []byte(`,"deliveries":[`)...))
		return err
	}, func(r postgres.DeliveryRow) error {
		if n > 0 {
			if _, err := resp.Write([]byte(",")); err != nil {
				return err
			}
		}
		if n++; n%1000 == 0 {
			flush()
		}
		return enc.Encode(r)
	})
	if err != nil {
		// Before the first byte the error handler answers; after it, the
		// document is cut short and the failure logged.
		return err
	}
	_, err = resp.Write([]byte("]}\n"))
	return err
}

func optFloat(f *float64) string {
	if f == nil {
		return ""
	}
	return ftoa(*f)
}

// foldObservatory is the background job that folds the totals' pending
// deltas into the cube (or rebuilds a stale one); before the monthly push,
// so that it reads a small set of deltas.
func (s *Server) foldObservatory(ctx context.Context, _ time.Time) error {
	_, err := s.store.MergeObservatoryDeltas(ctx)
	return err
}
