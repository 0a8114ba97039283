package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestFateOfEveryState(t *testing.T) {
	for state, want := range map[string]Fate{"declared": Declared, "received": InProgress, "diagnosed": InProgress,
		"wiped": InProgress, "refurbished": Prepared, "available": Prepared, "reserved": Prepared, "delivered": Delivered,
		"returned": InProgress, "recycled": Recycled, "dismantled": Dismantled} {
		if got := FateOf(state); got != want {
			t.Errorf("FateOf(%s) = %s, want %s", state, got, want)
		}
	}
}

// The summary counts fates and sums results; a cell that a spreadsheet
// would run as a formula is defused.
func TestSummaryAndCSV(t *testing.T) {
	r := DonorReport{Year: 2026, FactorSet: "fr-ademe-2025", MethodVersion: "m", Devices: []Device{
		{ID: 1, Category: "laptop", Brand: "=HYPERLINK(1)", State: "delivered", Fate: Delivered, WeightKg: 2,
			Emissions: &Emissions{NetKg: 10.04, LowKg: 5, HighKg: 20, Status: "estimated"}},
		{ID: 2, Category: "tablet", State: "recycled", Fate: Recycled, WeightKg: 0.5},
		{ID: 3, Category: "tablet", State: "received", Fate: InProgress, WeightKg: 0.5},
	}}
	r.Summarize()
	s := r.Summary
	if s.Given != 3 || s.Reused != 1 || s.Settled != 2 || *s.ReuseRatePct != 50 || s.NetKg != 10 || s.WeightKg != 3 || s.InProgress != 1 {
		t.Fatalf("summary %+v", s)
	}
	var b bytes.Buffer
	if err := r.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], ",'=HYPERLINK(1),") || !strings.Contains(lines[1], ",10.0,5.0,20.0,estimated,") {
		t.Fatalf("csv:\n%s", b.String())
	}
}
