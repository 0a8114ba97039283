package allocation_test

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/diagnosis"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func laptop(id int64, ram, storage int, screen float64, grade diagnosis.Grade) allocation.MatchDevice {
	return allocation.MatchDevice{ID: id, DeviceSpecs: allocation.DeviceSpecs{Category: "laptop", RAMGB: ram, StorageGB: storage,
		ScreenInches: screen, Grade: grade}}
}

func line(id, request int64, priority int, days, need int, spec allocation.Line) allocation.MatchLine {
	return allocation.MatchLine{ID: id, RequestID: request, Line: int(id % 10), Priority: priority,
		SubmittedAt: t0.AddDate(0, 0, days), Need: need, Spec: spec}
}

func laptops(minRAM, minStorage int) allocation.Line {
	return allocation.Line{Category: "laptop", MinRAMGB: minRAM, MinStorageGB: minStorage}
}

// Hand-computed cases of the rules of docs/matching.md.
func TestMatchRules(t *testing.T) {
	cases := []struct {
		name    string
		devices []allocation.MatchDevice
		lines   []allocation.MatchLine
		want    []allocation.Assignment
	}{{
		name:    "priority beats waiting time",
		devices: []allocation.MatchDevice{laptop(1, 8, 256, 14, "B")},
		// line 11 waited 30 days longer, line 21 has the higher priority
		lines: []allocation.MatchLine{line(11, 1, 20, -30, 1, laptops(0, 0)), line(21, 2, 40, 0, 1, laptops(0, 0))},
		want:  []allocation.Assignment{{LineID: 21, Devices: []int64{1}}},
	}, {
		name:    "equal priority: the longest wait first",
		devices: []allocation.MatchDevice{laptop(1, 8, 256, 14, "B")},
		lines:   []allocation.MatchLine{line(11, 1, 30, 2, 1, laptops(0, 0)), line(21, 2, 30, 1, 1, laptops(0, 0))},
		want:    []allocation.Assignment{{LineID: 21, Devices: []int64{1}}},
	}, {
		name:    "same priority and time: the lower request, then the lower line",
		devices: []allocation.MatchDevice{laptop(1, 8, 256, 14, "B"), laptop(2, 8, 256, 14, "B"), laptop(3, 8, 256, 14, "B")},
		lines: []allocation.MatchLine{line(32, 3, 0, 0, 1, laptops(0, 0)), line(31, 3, 0, 0, 1, laptops(0, 0)),
			line(41, 4, 0, 0, 5, laptops(0, 0))},
		want: []allocation.Assignment{{LineID: 31, Devices: []int64{1}}, {LineID: 32, Devices: []int64{2}}, {LineID: 41, Devices: []int64{3}}},
	}, {
		name: "best fit: the least powerful device that meets the line",
		// 4 GB fails the 8 GB minimum; of the others, 8 GB/128 GB is the
		// least powerful, then 8 GB/256 GB; 16 GB stays
		devices: []allocation.MatchDevice{laptop(1, 16, 512, 15.6, "A"), laptop(2, 8, 256, 14, "A"), laptop(3, 4, 1000, 17, "A"),
			laptop(4, 8, 128, 13.3, "C")},
		lines: []allocation.MatchLine{line(11, 1, 10, 0, 2, laptops(8, 0))},
		want:  []allocation.Assignment{{LineID: 11, Devices: []int64{4, 2}}},
	}, {
		name:    "best fit keeps the powerful device for the demanding line served later",
		devices: []allocation.MatchDevice{laptop(1, 16, 512, 15.6, "A"), laptop(2, 8, 256, 14, "B")},
		// the modest line comes first and takes the 8 GB, leaving 16 GB
		lines: []allocation.MatchLine{line(11, 1, 40, 0, 1, laptops(4, 0)), line(21, 2, 10, 0, 1, laptops(16, 0))},
		want:  []allocation.Assignment{{LineID: 11, Devices: []int64{2}}, {LineID: 21, Devices: []int64{1}}},
	}, {
		name: "minimums: storage, screen and grade too; a device with unknown specs meets none",
		devices: []allocation.MatchDevice{laptop(1, 8, 120, 15.6, "A"), laptop(2, 8, 500, 13.3, "A"), laptop(3, 8, 500, 15.6, "C"),
			laptop(4, 8, 500, 15.6, "B"), laptop(5, 0, 0, 0, "")},
		lines: []allocation.MatchLine{line(11, 1, 10, 0, 3, allocation.Line{Category: "laptop", MinRAMGB: 8, MinStorageGB: 240,
			MinScreenInches: 14, MinGrade: "B"})},
		want: []allocation.Assignment{{LineID: 11, Devices: []int64{4}}},
	}, {
		name:    "category must match",
		devices: []allocation.MatchDevice{{ID: 1, DeviceSpecs: allocation.DeviceSpecs{Category: "tablet", RAMGB: 8}}, laptop(2, 4, 64, 11.6, "C")},
		lines:   []allocation.MatchLine{line(11, 1, 0, 0, 2, allocation.Line{Category: "tablet"})},
		want:    []allocation.Assignment{{LineID: 11, Devices: []int64{1}}},
	}, {
		name:    "nothing assigned twice, no line over its need",
		devices: []allocation.MatchDevice{laptop(1, 8, 256, 14, "B"), laptop(2, 8, 256, 14, "B"), laptop(1, 8, 256, 14, "B")},
		lines:   []allocation.MatchLine{line(11, 1, 20, 0, 1, laptops(0, 0)), line(21, 2, 10, 0, 3, laptops(0, 0))},
		want:    []allocation.Assignment{{LineID: 11, Devices: []int64{1}}, {LineID: 21, Devices: []int64{2}}},
	}, {
		name:    "a line that cannot be met gets nothing; the next one is served",
		devices: []allocation.MatchDevice{laptop(1, 8, 256, 14, "B")},
		lines:   []allocation.MatchLine{line(11, 1, 40, 0, 1, laptops(32, 0)), line(21, 2, 10, 0, 1, laptops(8, 0))},
		want:    []allocation.Assignment{{LineID: 21, Devices: []int64{1}}},
	}, {
		name:    "no need, no device",
		devices: []allocation.MatchDevice{laptop(1, 8, 256, 14, "B")},
		lines:   []allocation.MatchLine{line(11, 1, 40, 0, 0, laptops(0, 0))},
		want:    nil,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := allocation.Match(c.devices, c.lines)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestComparePower(t *testing.T) {
	order := []allocation.MatchDevice{laptop(9, 0, 0, 0, ""), laptop(8, 4, 1000, 17, "A"), laptop(7, 8, 128, 11, "A"),
		laptop(6, 8, 256, 13.3, "A"), laptop(5, 8, 256, 14, ""), laptop(4, 8, 256, 14, "C"), laptop(3, 8, 256, 14, "B"),
		laptop(1, 8, 256, 14, "A"), laptop(2, 8, 256, 14, "A")}
	for i := range order {
		for j := range order {
			if got := allocation.PowerLess(order[i], order[j]); got != (i < j) {
				t.Errorf("PowerLess(%v, %v) = %v", order[i], order[j], got)
			}
		}
	}
}

// randomInput draws devices and lines over a few categories and a few
// values of each spec, so that ties and near misses are frequent.
func randomInput(r *rand.Rand, nDevices, nLines int) ([]allocation.MatchDevice, []allocation.MatchLine) {
	cats := []string{"laptop", "desktop", "tablet"}
	rams := []int{0, 2, 4, 8, 16}
	storages := []int{0, 64, 128, 256, 512}
	screens := []float64{0, 11.6, 13.3, 14, 15.6}
	grades := []diagnosis.Grade{"", "C", "B", "A"}
	devices := make([]allocation.MatchDevice, nDevices)
	for i := range devices {
		devices[i] = allocation.MatchDevice{ID: int64(i + 1), DeviceSpecs: allocation.DeviceSpecs{Category: cats[r.IntN(len(cats))],
			RAMGB: rams[r.IntN(len(rams))], StorageGB: storages[r.IntN(len(storages))], ScreenInches: screens[r.IntN(len(screens))],
			Grade: grades[r.IntN(len(grades))]}}
	}
	lines := make([]allocation.MatchLine, nLines)
	for i := range lines {
		spec := allocation.Line{Category: cats[r.IntN(len(cats))]}
		if r.IntN(2) == 0 {
			spec.MinRAMGB = rams[r.IntN(len(rams))]
		}
		if r.IntN(3) == 0 {
			spec.MinStorageGB = storages[r.IntN(len(storages))]
		}
		if r.IntN(4) == 0 {
			spec.MinScreenInches = screens[r.IntN(len(screens))]
		}
		if r.IntN(4) == 0 {
			spec.MinGrade = grades[r.IntN(len(grades))]
		}
		// quantity and notes play no part in matching (Need does)
		spec.Quantity, spec.Notes = 1+r.IntN(5), []string{"", "salle 12"}[r.IntN(2)]
		lines[i] = allocation.MatchLine{ID: int64(1000 + i), RequestID: int64(1 + r.IntN(nLines/2+1)), Line: 1 + r.IntN(5),
			Priority: 10 * r.IntN(5), SubmittedAt: t0.Add(time.Duration(r.IntN(1000)) * time.Hour), Need: r.IntN(6), Spec: spec}
	}
	return devices, lines
}

// Random inputs: every assignment meets its line, no device twice, no line
// over its need, nothing left that a line still needing devices could have
// taken, and best fit: no free device meets a line that received a more
// powerful one.
func TestMatchProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 2026))
	for round := range 500 {
		devices, lines := randomInput(r, 1+r.IntN(120), 1+r.IntN(40))
		got := allocation.Match(devices, lines)
		byID := map[int64]allocation.MatchDevice{}
		for _, d := range devices {
			byID[d.ID] = d
		}
		lineByID := map[int64]allocation.MatchLine{}
		for _, l := range lines {
			lineByID[l.ID] = l
		}
		taken := map[int64]int64{}
		received := map[int64]int{}
		for _, a := range got {
			l, ok := lineByID[a.LineID]
			if !ok || received[a.LineID] != 0 {
				t.Fatalf("round %d: line %d unknown or listed twice", round, a.LineID)
			}
			received[a.LineID] = len(a.Devices)
			if len(a.Devices) > l.Need || len(a.Devices) == 0 {
				t.Fatalf("round %d: line %d needs %d, got %d", round, l.ID, l.Need, len(a.Devices))
			}
			for _, id := range a.Devices {
				if other, dup := taken[id]; dup {
					t.Fatalf("round %d: device %d given to lines %d and %d", round, id, other, l.ID)
				}
				taken[id] = l.ID
				if !l.Spec.Meets(byID[id].DeviceSpecs) {
					t.Fatalf("round %d: device %v does not meet line %v", round, byID[id], l.Spec)
				}
			}
		}
		for _, l := range lines {
			for _, d := range devices {
				if _, gone := taken[d.ID]; gone || !l.Spec.Meets(d.DeviceSpecs) {
					continue
				}
				if received[l.ID] < l.Need {
					t.Fatalf("round %d: line %d still needs devices and device %d is free and meets it", round, l.ID, d.ID)
				}
				for _, a := range got {
					if a.LineID != l.ID {
						continue
					}
					for _, id := range a.Devices {
						if allocation.PowerLess(d, byID[id]) {
							t.Fatalf("round %d: line %d took %v while the less powerful %v stayed free", round, l.ID, byID[id], d)
						}
					}
				}
			}
		}
		// The service order: a line served later never took a device an
		// earlier line that still needed one would have accepted.
		for _, a := range got {
			later := lineByID[a.LineID]
			for _, earlier := range lines {
				if allocation.CompareServiceOrder(earlier, later) >= 0 || received[earlier.ID] >= earlier.Need {
					continue
				}
				for _, id := range a.Devices {
					if earlier.Spec.Meets(byID[id].DeviceSpecs) {
						t.Fatalf("round %d: line %d (served later) took device %d that line %d still needed", round, later.ID, id, earlier.ID)
					}
				}
			}
		}
	}
}

// Matching is deterministic, whatever the order of its input.
func TestMatchDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	devices, lines := randomInput(r, 300, 60)
	want := allocation.Match(devices, lines)
	for range 20 {
		d2, l2 := append([]allocation.MatchDevice(nil), devices...), append([]allocation.MatchLine(nil), lines...)
		r.Shuffle(len(d2), func(i, j int) { d2[i], d2[j] = d2[j], d2[i] })
		r.Shuffle(len(l2), func(i, j int) { l2[i], l2[j] = l2[j], l2[i] })
		if got := allocation.Match(d2, l2); !reflect.DeepEqual(got, want) {
			t.Fatal("a shuffled input gave other assignments")
		}
	}
}
