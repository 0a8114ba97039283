package postgres

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
)

// The observatory's totals (docs/observatory.md, migrations/00019): what
// the territory counts — devices received, published, delivered, recycled,
// dismantled, the weight diverted from waste and the avoided emissions of
// one factor set — by month, category, donor kind, beneficiary kind and
// commune. ObservatoryTotals answers from the maintained cube
// (observatory_totals plus the pending deltas); ObservatoryTotalsNaive
// computes the same from the base tables, for the tests, the benchmark, and
// while the cube is stale.

// TotalsDim is a dimension to group or filter by.
type TotalsDim string

// The dimensions, with their bit in observatory_totals.gset.
const (
	DimMonth           TotalsDim = "month"
	DimCategory        TotalsDim = "category"
	DimDonorKind       TotalsDim = "donor_kind"
	DimBeneficiaryKind TotalsDim = "beneficiary_kind"
	DimCommune         TotalsDim = "commune"
)

// TotalsDims lists the dimensions in their bit order.
var TotalsDims = []TotalsDim{DimMonth, DimCategory, DimDonorKind, DimBeneficiaryKind, DimCommune}

func (d TotalsDim) bit() int { return 1 << slices.Index(TotalsDims, d) }

// TotalsQuery filters and groups the totals. Months are "YYYY-MM",
// inclusive; "" leaves a filter open.
type TotalsQuery struct {
	From, To        string
	Category        string
	DonorKind       string
	BeneficiaryKind string
	Commune         string
	GroupBy         []TotalsDim
	// FactorSet is the set whose results are summed; "" is the active one.
	FactorSet string
	// Limit is the most rows an answer gives (0: all; a page summed by
	// commune over a month range may end before it, Next then set); After, a cursor,
	// the values of the grouped dimensions (in key order: commune, month,
	// category, donor kind, beneficiary kind) of the row the answer starts
	// after: a previous answer's Next.
	Limit int
	After []string
}

// MaxTotalsLimit is the most rows one page of totals may ask for.
const MaxTotalsLimit = 10000

// TotalsRow is one group's totals; only the grouped dimensions are set.
type TotalsRow struct {
	Month           string   `json:"month,omitempty"`
	Category        string   `json:"category,omitempty"`
	DonorKind       string   `json:"donor_kind,omitempty"`
	BeneficiaryKind string   `json:"beneficiary_kind,omitempty"`
	Commune         string   `json:"commune,omitempty"`
	Received        int64    `json:"received"`
	Refurbished     int64    `json:"refurbished"`
	Delivered       int64    `json:"delivered"`
	Recycled        int64    `json:"recycled"`
	Dismantled      int64    `json:"dismantled"`
	DivertedKg      float64  `json:"diverted_kg"`
	NetKg           float64  `json:"co2e_net_kg"`
	LowKg           float64  `json:"co2e_low_kg"`
	HighKg          float64  `json:"co2e_high_kg"`
	GrossKg         float64  `json:"co2e_gross_kg"`
	Results         int64    `json:"results"`
	MethodVersions  []string `json:"method_versions"`
}

// Totals is an answer: the set summed, the method versions met and the rows
// sorted by their group keys in key order (commune, month, category, donor
// kind, beneficiary kind; one row when nothing is grouped).
type Totals struct {
	FactorSet        string      `json:"factor_set"`
	FactorSetVersion string      `json:"factor_set_version"`
	MethodVersions   []string    `json:"method_versions"`
	GroupBy          []TotalsDim `json:"group_by"`
	Rows             []TotalsRow `json:"rows"`
	// Next is the cursor of the next page (TotalsQuery.After), and
	// NextCursor its text for the API's after parameter; nil and "" on the
	// last page.
	Next       []string `json:"-"`
	NextCursor string   `json:"next,omitempty"`
}

// EncodeTotalsCursor writes a cursor as the text of the API's after
// parameter: opaque to clients, URL-safe.
func EncodeTotalsCursor(values []string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("1" + strings.Join(values, "\x00")))
}

// DecodeTotalsCursor reads the after parameter (Validate checks the
// values against the query).
func DecodeTotalsCursor(s string) ([]string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || b[0] != '1' {
		return nil, false
	}
	return strings.Split(string(b[1:]), "\x00"), true
}

var (
	monthRe   = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)
	communeRe = regexp.MustCompile(`^([0-9]{2}|2A|2B)[0-9]{3}$`)
)

// ParseMonth reads "YYYY-MM" or an ISO date "YYYY-MM-DD" (its month).
func ParseMonth(s string) (string, bool) {
	if len(s) == 10 {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return "", false
		}
		return t.Format("2006-01"), true
	}
	return s, monthRe.MatchString(s)
}

// ParseTotalsDims reads a comma-separated list of dimensions.
func ParseTotalsDims(s string) ([]TotalsDim, bool) {
	var out []TotalsDim
	for _, p := range strings.Split(s, ",") {
		d := TotalsDim(strings.TrimSpace(p))
		if d == "" {
			continue
		}
		if !slices.Contains(TotalsDims, d) {
			return nil, false
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, true
}

// Validate checks a query: field errors keyed by the query parameter.
func (q TotalsQuery) Validate() error {
	f := berriz.FieldErrors{}
	for name, m := range map[string]string{"from": q.From, "to": q.To} {
		if m != "" && !monthRe.MatchString(m) {
			f.Add(name, "observatory.error.month")
		}
	}
	if q.From != "" && q.To != "" && q.From > q.To && monthRe.MatchString(q.From) && monthRe.MatchString(q.To) {
		f.Add("to", "observatory.error.range")
	}
	if _, ok := co2.CategoryByID(q.Category); q.Category != "" && !ok {
		f.Add("category", "observatory.error.category")
	}
	if q.DonorKind != "" && !account.OrgKind(q.DonorKind).Valid() {
		f.Add("donor_kind", "observatory.error.kind")
	}
	if q.BeneficiaryKind != "" && !account.OrgKind(q.BeneficiaryKind).Valid() {
		f.Add("beneficiary_kind", "observatory.error.kind")
	}
	if q.Commune != "" && !communeRe.MatchString(q.Commune) {
		f.Add("commune", "observatory.error.commune")
	}
	for _, d := range q.GroupBy {
		if !slices.Contains(TotalsDims, d) {
			f.Add("group", "observatory.error.group")
			break
		}
	}
	if q.Limit < 0 || q.Limit > MaxTotalsLimit {
		f.Add("limit", "observatory.error.limit")
	}
	if q.After != nil && !q.validCursor() {
		f.Add("after", "observatory.error.after")
	}
	return f.Err()
}

// validCursor checks a cursor's shape: one value per grouped dimension, a
// month where the month is (the database compares it as a date), short
// text without control characters elsewhere.
func (q TotalsQuery) validCursor() bool {
	dims := q.keyDims()
	if len(q.After) != len(dims) || len(dims) == 0 {
		return false
	}
	for i, v := range q.After {
		if dims[i] == DimMonth && !monthRe.MatchString(v) {
			return false
		}
		if len(v) > 100 || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return false
		}
	}
	return true
}

// needMask is the set of dimensions a cuboid must keep to answer q.
func (q TotalsQuery) needMask() int {
	m := 0
	if q.From != "" || q.To != "" {
		m |= DimMonth.bit()
	}
	for d, v := range map[TotalsDim]string{DimCategory: q.Category, DimDonorKind: q.DonorKind,
		DimBeneficiaryKind: q.BeneficiaryKind, DimCommune: q.Commune} {
		if v != "" {
			m |= d.bit()
		}
	}
	for _, d := range q.GroupBy {
		m |= d.bit()
	}
	return m
}

// where renders q's filters on the columns of the facts, the deltas and
// the cube alike.
func (q TotalsQuery) where(set string) (string, []any) {
	conds := []string{"set_id IN ('', ?)"}
	args := []any{set}
	if q.From != "" {
		conds, args = append(conds, "month >= ?::date"), append(args, q.From+"-01")
	}
	if q.To != "" {
		conds, args = append(conds, "month <= ?::date"), append(args, q.To+"-01")
	}
	for i, v := range []string{q.Category, q.DonorKind, q.BeneficiaryKind, q.Commune} {
		if v != "" {
			conds, args = append(conds, string(TotalsDims[i+1])+" = ?"), append(args, v)
		}
	}
	return strings.Join(conds, " AND "), args
}

// factorSetOf returns the set to sum: the one named, or the active one.
func (db *DB) factorSetOf(ctx context.Context, id string) (string, string, error) {
	var set, version string
	q, args := `SELECT id, version FROM factor_sets WHERE active`, []any{}
	if id != "" {
		q, args = `SELECT id, version FROM factor_sets WHERE id = ?`, []any{id}
	}
	if err := db.gorm.WithContext(ctx).Raw(q, args...).Row().Scan(&set, &version); err != nil {
		return "", "", factorSetMissing(id, err)
	}
	return set, version, nil
}

// factorSetMissing is the error of a factor set not found: the query's
// mistake when it named one, the database's when none is active.
func factorSetMissing(id string, cause error) error {
	if id != "" {
		f := berriz.FieldErrors{}
		f.Add("factor_set", "observatory.error.factor_set")
		return wrapCause(f.Err(), cause)
	}
	return fmt.Errorf("active factor set: %w", cause)
}

func wrapCause(verr, cause error) error { return berriz.As(verr).WithCause(cause) }

const measureCols = `month, category, donor_kind, beneficiary_kind, commune, set_id, method_version, received,
	refurbished, delivered, recycled, dismantled, diverted_kg, net_kg, low_kg, high_kg, gross_kg, results`
