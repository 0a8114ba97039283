package recycling

import (
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/berriz"
)

var now = time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC)

func TestParseHandover(t *testing.T) {
	h, fe := Input{Recycler: "  Ecologic   Sud-Ouest ", HandedOverOn: "2026-03-10", TotalWeightKg: "12,3456",
		CertificateRef: " BSD-2026-001 "}.Parse(now)
	if fe != nil {
		t.Fatalf("valid handover refused: %v", fe)
	}
	if h.Recycler != "Ecologic Sud-Ouest" || h.CertificateRef != "BSD-2026-001" || h.TotalWeightKg != 12.346 ||
		!h.HandedOverOn.Equal(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("handover %+v", h)
	}
	// Tomorrow in UTC is already today east of the server: accepted.
	if _, fe := (Input{Recycler: "R", HandedOverOn: "2026-03-11", TotalWeightKg: "1", CertificateRef: "C"}).Parse(now); fe != nil {
		t.Errorf("today somewhere refused: %v", fe)
	}
	for _, tc := range []struct {
		in    Input
		field string
		key   string
	}{
		{Input{HandedOverOn: "2026-03-01", TotalWeightKg: "1", CertificateRef: "C"}, FieldRecycler, "recycling.error.recycler_required"},
		{Input{Recycler: strings.Repeat("é", 201), HandedOverOn: "2026-03-01", TotalWeightKg: "1", CertificateRef: "C"}, FieldRecycler, "recycling.error.recycler_long"},
		{Input{Recycler: "R", HandedOverOn: "2026-03-01", TotalWeightKg: "1"}, FieldCertificateRef, "recycling.error.certificate_ref_required"},
		{Input{Recycler: "R", HandedOverOn: "2026-03-01", TotalWeightKg: "1", CertificateRef: strings.Repeat("x", 101)}, FieldCertificateRef, "recycling.error.certificate_ref_long"},
		{Input{Recycler: "R", TotalWeightKg: "1", CertificateRef: "C"}, FieldHandedOverOn, "recycling.error.date_required"},
		{Input{Recycler: "R", HandedOverOn: "10/03/2026", TotalWeightKg: "1", CertificateRef: "C"}, FieldHandedOverOn, "recycling.error.date_invalid"},
		{Input{Recycler: "R", HandedOverOn: "1999-12-31", TotalWeightKg: "1", CertificateRef: "C"}, FieldHandedOverOn, "recycling.error.date_invalid"},
		{Input{Recycler: "R", HandedOverOn: "2026-03-12", TotalWeightKg: "1", CertificateRef: "C"}, FieldHandedOverOn, "recycling.error.date_future"},
		{Input{Recycler: "R", HandedOverOn: "2026-03-01", CertificateRef: "C"}, FieldTotalWeightKg, "recycling.error.weight_required"},
		{Input{Recycler: "R", HandedOverOn: "2026-03-01", TotalWeightKg: "0", CertificateRef: "C"}, FieldTotalWeightKg, "recycling.error.weight_invalid"},
		{Input{Recycler: "R", HandedOverOn: "2026-03-01", TotalWeightKg: "0.0001", CertificateRef: "C"}, FieldTotalWeightKg, "recycling.error.weight_invalid"},
		{Input{Recycler: "R", HandedOverOn: "2026-03-01", TotalWeightKg: "-4", CertificateRef: "C"}, FieldTotalWeightKg, "recycling.error.weight_invalid"},
		{Input{Recycler: "R", HandedOverOn: "2026-03-01", TotalWeightKg: "NaN", CertificateRef: "C"}, FieldTotalWeightKg, "recycling.error.weight_invalid"},
		{Input{Recycler: "R", HandedOverOn: "2026-03-01", TotalWeightKg: "1e3", CertificateRef: "C"}, FieldTotalWeightKg, "recycling.error.weight_invalid"},
		{Input{Recycler: "R", HandedOverOn: "2026-03-01", TotalWeightKg: "1000000", CertificateRef: "C"}, FieldTotalWeightKg, "recycling.error.weight_invalid"},
	} {
		_, fe := tc.in.Parse(now)
		if fe[tc.field] != tc.key || len(fe) != 1 {
			t.Errorf("%+v: %v, want %s: %s", tc.in, fe, tc.field, tc.key)
		}
	}
	if _, fe := (Input{}).Parse(now); len(fe) != 4 {
		t.Errorf("empty handover: %v", fe)
	}
}

func TestCheckCertificate(t *testing.T) {
	if err := CheckCertificate([]byte("%PDF-1.7\n...")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		data []byte
		kind berriz.Kind
	}{
		{nil, berriz.Invalid},
		{[]byte("<html>%PDF-"), berriz.Invalid},
		{[]byte("%PDF"), berriz.Invalid},
		{append([]byte("%PDF-1.7"), make([]byte, MaxCertificateBytes)...), berriz.TooLarge},
	} {
		if err := CheckCertificate(tc.data); berriz.KindOf(err) != tc.kind {
			t.Errorf("%.10q: %v, want %v", tc.data, err, tc.kind)
		}
	}
}
