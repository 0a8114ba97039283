package allocation_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/diagnosis"
)

// benchInput is the target of issue 6: 10,000 available devices in a few
// categories against 1,000 request lines of 1 to 20 devices with varied
// minimums (about 10,000 devices needed in all, so that most lines
// compete and many scan past devices that do not meet them).
func benchInput() ([]allocation.MatchDevice, []allocation.MatchLine) {
	r := rand.New(rand.NewPCG(10000, 1000))
	cats := []string{"laptop", "laptop", "laptop", "desktop", "desktop", "tablet", "monitor_24", "smartphone"}
	rams := []int{2, 4, 4, 8, 8, 8, 16, 16, 32}
	storages := []int{64, 128, 256, 256, 500, 512, 1000}
	screens := []float64{0, 10.1, 13.3, 14, 15.6, 24}
	grades := []diagnosis.Grade{"A", "B", "B", "C"}
	devices := make([]allocation.MatchDevice, 10000)
	for i := range devices {
		devices[i] = allocation.MatchDevice{ID: int64(i + 1), DeviceSpecs: allocation.DeviceSpecs{Category: cats[r.IntN(len(cats))],
			RAMGB: rams[r.IntN(len(rams))], StorageGB: storages[r.IntN(len(storages))], ScreenInches: screens[r.IntN(len(screens))],
			Grade: grades[r.IntN(len(grades))]}}
	}
	lines := make([]allocation.MatchLine, 1000)
	start := time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)
	for i := range lines {
		spec := allocation.Line{Category: cats[r.IntN(len(cats))], MinRAMGB: rams[r.IntN(len(rams))]}
		if r.IntN(2) == 0 {
			spec.MinStorageGB = storages[r.IntN(len(storages))]
		}
		if r.IntN(3) == 0 {
			spec.MinScreenInches = screens[r.IntN(len(screens))]
		}
		if r.IntN(3) == 0 {
			spec.MinGrade = grades[r.IntN(len(grades))]
		}
		lines[i] = allocation.MatchLine{ID: int64(i + 1), RequestID: int64(i/3 + 1), Line: i%3 + 1, Priority: 5 * r.IntN(20),
			SubmittedAt: start.Add(time.Duration(i/3) * time.Hour), Need: 1 + r.IntN(20), Spec: spec}
	}
	return devices, lines
}

// BenchmarkMatching: 10,000 available devices against 1,000 request
// lines (docs/benchmarks.md, target: well under 2 s).
func BenchmarkMatching(b *testing.B) {
	devices, lines := benchInput()
	b.ReportAllocs()
	assigned := 0
	for b.Loop() {
		assigned = 0
		for _, a := range allocation.Match(devices, lines) {
			assigned += len(a.Devices)
		}
	}
	b.ReportMetric(float64(assigned), "devices_assigned")
}
