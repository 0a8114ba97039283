// Package recycling owns the rules of a recycling batch's handover: the
// devices a workshop cannot reuse wait in its open batch, then go to a WEEE
// channel (a recycler) in one go, with the date, the total weight, the
// recycler's certificate reference and the certificate itself (a PDF). Who
// may join a batch is the lifecycle's business (internal/lifecycle: a
// device becomes recycled only through a batch handed over, and only when
// no data can leave with it); this package checks what the handover form
// or the API sends. Standard library and internal/berriz only; no I/O.
package recycling

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/berriz"
)

// Batch states.
const (
	Open       = "open"        // devices join and leave it
	HandedOver = "handed_over" // gone to the recycler, its devices recycled
)

// Limits of a handover, as the schema holds them.
const (
	RecyclerMax       = 200 // characters
	CertificateRefMax = 100 // characters
	// MaxWeightKg is the largest weight numeric(9, 3) holds.
	MaxWeightKg = 999999.999
	// MaxCertificateBytes bounds the recycler's certificate (a PDF).
	MaxCertificateBytes = 10_000_000
)

// Form fields, shared by the page and the API.
const (
	FieldRecycler       = "recycler"
	FieldHandedOverOn   = "handed_over_on"
	FieldTotalWeightKg  = "total_weight_kg"
	FieldCertificateRef = "certificate_ref"
	FieldCertificate    = "certificate"
)

// Input is a handover as typed.
type Input struct {
	Recycler       string
	HandedOverOn   string // YYYY-MM-DD
	TotalWeightKg  string // "12.5" or "12,5"
	CertificateRef string
}

// Handover is a checked handover.
type Handover struct {
	Recycler       string
	HandedOverOn   time.Time // a date, at midnight UTC
	TotalWeightKg  float64   // rounded to the gram
	CertificateRef string
}

// latestZone is how far ahead of UTC the earliest time zone is: a date is
// "in the future" only when it has not begun anywhere yet, so a workshop
// a few hours ahead of the server's clock is never refused its today.
const latestZone = 14 * time.Hour

// Parse checks a handover typed on now's day: every field is required, the
// date is not in the future, the weight is positive. Errors are keyed by
// field; nil when all is well.
func (in Input) Parse(now time.Time) (Handover, berriz.FieldErrors) {
	fe := berriz.FieldErrors{}
	var h Handover
	h.Recycler = clean(in.Recycler)
	switch {
	case h.Recycler == "":
		fe.Add(FieldRecycler, "recycling.error.recycler_required")
	case utf8.RuneCountInString(h.Recycler) > RecyclerMax:
		fe.Add(FieldRecycler, "recycling.error.recycler_long")
	}
	h.CertificateRef = clean(in.CertificateRef)
	switch {
	case h.CertificateRef == "":
		fe.Add(FieldCertificateRef, "recycling.error.certificate_ref_required")
	case utf8.RuneCountInString(h.CertificateRef) > CertificateRefMax:
		fe.Add(FieldCertificateRef, "recycling.error.certificate_ref_long")
	}
	day, err := time.Parse(time.DateOnly, strings.TrimSpace(in.HandedOverOn))
	switch {
	case strings.TrimSpace(in.HandedOverOn) == "":
		fe.Add(FieldHandedOverOn, "recycling.error.date_required")
	case err != nil || day.Year() < 2000:
		fe.Add(FieldHandedOverOn, "recycling.error.date_invalid")
	case day.After(now.UTC().Add(latestZone)):
		fe.Add(FieldHandedOverOn, "recycling.error.date_future")
	default:
		h.HandedOverOn = day
	}
	w, ok := ParseWeight(in.TotalWeightKg)
	switch {
	case strings.TrimSpace(in.TotalWeightKg) == "":
		fe.Add(FieldTotalWeightKg, "recycling.error.weight_required")
	case !ok || w <= 0 || w > MaxWeightKg:
		fe.Add(FieldTotalWeightKg, "recycling.error.weight_invalid")
	default:
		h.TotalWeightKg = w
	}
	if len(fe) > 0 {
		return Handover{}, fe
	}
	return h, nil
}

// ParseWeight reads a weight in kilograms as people type it (a dot or a
// comma before the decimals), rounded to the gram.
func ParseWeight(s string) (float64, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", ".")
	if s == "" || strings.Trim(s, "0123456789.") != "" { // plain decimals only: no sign, exponent, NaN
		return 0, false
	}
	w, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(w) || math.IsInf(w, 0) {
		return 0, false
	}
	return math.Round(w*1000) / 1000, true
}

// CheckCertificate says whether data may be kept as the recycler's
// certificate: a PDF, by its content, of at most MaxCertificateBytes.
func CheckCertificate(data []byte) error {
	switch {
	case len(data) == 0:
		return berriz.FieldErrors{FieldCertificate: "recycling.error.certificate_required"}.Err()
	case len(data) > MaxCertificateBytes:
		return berriz.E(berriz.TooLarge, "recycling.error.certificate_too_large").
			WithArg("mb", strconv.Itoa(MaxCertificateBytes/1_000_000))
	case !bytes.HasPrefix(data, []byte("%PDF-")):
		return berriz.FieldErrors{FieldCertificate: "recycling.error.certificate_type"}.Err()
	}
	return nil
}

// clean trims a text and folds its runs of spaces (a name, a reference).
func clean(s string) string {
	if !utf8.ValidString(s) {
		return strings.ToValidUTF8(strings.Join(strings.Fields(s), " "), "")
	}
	return strings.Join(strings.Fields(s), " ")
}
