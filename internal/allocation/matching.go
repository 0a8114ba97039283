package allocation

import (
	"cmp"
	"slices"
	"time"

	"github.com/berriz/berriz/internal/diagnosis"
)

// Matching: the operator's proposal assigns available devices to the
// remaining need of approved request lines. The rules (docs/matching.md,
// which says exactly what this file does):
//
//  1. Lines are served one after the other: the request with the highest
//     priority first, then the one that has waited longest (submitted
//     earliest), then the lower request id, then the lower line number.
//  2. A line only takes devices of its category whose specs meet its
//     minimum (Line.Meets, line.go: an unknown figure meets no minimum).
//  3. Best fit: each unit a line still needs takes the least powerful
//     device that meets the line and is still free (PowerLess), so that the
//     powerful devices stay for the lines that need them.
//  4. A device goes to one line at most; a line never takes more than its
//     remaining need. A line no free device meets stays unserved.
//
// Match is pure and deterministic: the same input gives the same
// assignments.

// MatchDevice is an available device as matching sees it: its id and its
// specs (a zero number is unknown: no drive recorded, no screen).
type MatchDevice struct {
	ID int64
	DeviceSpecs
}

// MatchLine is a request line with the devices it still needs.
type MatchLine struct {
	ID          int64 // the request line's id
	RequestID   int64
	Line        int // the line's number in its request
	Priority    int // its request's priority (Priority)
	SubmittedAt time.Time
	// Need is the line's quantity less its live and delivered
	// reservations.
	Need int
	// Spec is the line's category and minimum specs (its quantity and
	// notes play no part).
	Spec Line
}

// Assignment is what one line receives: its devices, least powerful
// first.
type Assignment struct {
	LineID  int64
	Devices []int64
}

// gradeRank orders grades from the least to the most valuable (C, B, A);
// an ungraded device ranks lowest.
func gradeRank(g diagnosis.Grade) int {
	i := slices.Index(diagnosis.Grades, g) // A is first
	if i < 0 {
		return 0
	}
	return len(diagnosis.Grades) - i
}

// ComparePower orders devices by power: RAM first, then total storage,
// then screen size, then grade (C < B < A), each larger being more
// powerful; equal devices are ordered by id so that the order is total.
// RAM leads because it is what most limits what a reused computer can
// still run; storage can be added, a screen matters only where it exists.
func ComparePower(a, b MatchDevice) int {
	return cmp.Or(
		cmp.Compare(a.RAMGB, b.RAMGB),
		cmp.Compare(a.StorageGB, b.StorageGB),
		cmp.Compare(a.ScreenInches, b.ScreenInches),
		cmp.Compare(gradeRank(a.Grade), gradeRank(b.Grade)),
		cmp.Compare(a.ID, b.ID),
	)
}

// PowerLess reports whether a is less powerful than b (ComparePower).
func PowerLess(a, b MatchDevice) bool { return ComparePower(a, b) < 0 }

// CompareServiceOrder orders lines as matching serves them: higher
// priority first, then the earliest submitted, then the lower request id,
// then the lower line number (and the lower line id, which only breaks the
// ties of malformed input: a request numbers its lines once).
func CompareServiceOrder(a, b MatchLine) int {
	return cmp.Or(
		cmp.Compare(b.Priority, a.Priority),
		a.SubmittedAt.Compare(b.SubmittedAt),
		cmp.Compare(a.RequestID, b.RequestID),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.ID, b.ID),
	)
}

// pool is the free devices of one category, least powerful first. next
// skips the devices already taken without rescanning them: next[i] points
// towards the first free index at or after i (path-compressed, as in a
// disjoint-set forest), so every device is stepped over a bounded number
// of times however many lines look at it.
type pool struct {
	devices []MatchDevice
	next    []int // len(devices)+1; next[len] = len is the sentinel
}

func newPool(devices []MatchDevice) *pool {
	slices.SortFunc(devices, ComparePower)
	p := &pool{devices: devices, next: make([]int, len(devices)+1)}
	for i := range p.next {
		p.next[i] = i
	}
	return p
}

// free returns the first free index at or after i.
func (p *pool) free(i int) int {
	root := i
	for p.next[root] != root {
		root = p.next[root]
	}
	for p.next[i] != root { // compress the path
		i, p.next[i] = p.next[i], root
	}
	return root
}

// take marks index i as taken.
func (p *pool) take(i int) { p.next[i] = i + 1 }

// Match assigns the free devices to the lines by the rules above. Lines
// without need and devices of a category no line asks for are ignored; a
// device listed twice counts once. Lines that receive nothing are left out
// of the result, which follows the service order.
func Match(devices []MatchDevice, lines []MatchLine) []Assignment {
	byCategory := map[string][]MatchDevice{}
	seen := make(map[int64]bool, len(devices))
	for _, d := range devices {
		if !seen[d.ID] {
			seen[d.ID] = true
			byCategory[d.Category] = append(byCategory[d.Category], d)
		}
	}
	pools := make(map[string]*pool, len(byCategory))
	for c, ds := range byCategory {
		pools[c] = newPool(ds)
	}
	order := slices.Clone(lines)
	slices.SortFunc(order, CompareServiceOrder)
	// Lines asking for the same thing scan the same devices: a later one
	// starts where the previous one stopped, since every free device
	// before that point failed the very same minimum.
	resume := map[Line]int{}
	var out []Assignment
	for _, l := range order {
		p := pools[l.Spec.Category]
		if l.Need <= 0 || p == nil {
			continue
		}
		key := l.Spec
		key.Quantity, key.Notes = 0, ""
		a := Assignment{LineID: l.ID}
		i := p.free(resume[key])
		for ; i < len(p.devices) && len(a.Devices) < l.Need; i = p.free(i + 1) {
			if l.Spec.Meets(p.devices[i].DeviceSpecs) {
				a.Devices = append(a.Devices, p.devices[i].ID)
				p.take(i)
			}
		}
		resume[key] = i
		if len(a.Devices) > 0 {
			out = append(out, a)
		}
	}
	return out
}
