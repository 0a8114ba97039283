package lifecycle_test

import (
	"slices"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
)

// ready is a device for which every guard holds: two drives both erased, a
// diagnosis, a grade and an OS.
var ready = lifecycle.Facts{StorageDrives: 2, Drives: 2, DrivesErased: 2, Diagnosed: true, Grade: "B", NeedsOS: true, OS: "Debian 13"}

// The diagram of DOMAIN.md, written out pair by pair independently of the
// package's table, with the path each allowed step takes.
var diagram = map[[2]lifecycle.State]lifecycle.Via{
	{"declared", "received"}:      lifecycle.Intake,
	{"received", "diagnosed"}:     lifecycle.Direct,
	{"diagnosed", "wiped"}:        lifecycle.Direct,
	{"wiped", "refurbished"}:      lifecycle.Direct,
	{"refurbished", "available"}:  lifecycle.Direct,
	{"available", "reserved"}:     lifecycle.Allocation,
	{"reserved", "available"}:     lifecycle.Allocation,
	{"reserved", "delivered"}:     lifecycle.Allocation,
	{"delivered", "returned"}:     lifecycle.Direct,
	{"returned", "diagnosed"}:     lifecycle.Direct,
	{"received", "recycled"}:      lifecycle.Recycling,
	{"diagnosed", "recycled"}:     lifecycle.Recycling,
	{"wiped", "recycled"}:         lifecycle.Recycling,
	{"refurbished", "recycled"}:   lifecycle.Recycling,
	{"available", "recycled"}:     lifecycle.Recycling,
	{"returned", "recycled"}:      lifecycle.Recycling,
	{"received", "dismantled"}:    lifecycle.Dismantle,
	{"diagnosed", "dismantled"}:   lifecycle.Dismantle,
	{"wiped", "dismantled"}:       lifecycle.Dismantle,
	{"refurbished", "dismantled"}: lifecycle.Dismantle,
	{"available", "dismantled"}:   lifecycle.Dismantle,
	{"returned", "dismantled"}:    lifecycle.Dismantle,
}

var vias = []lifecycle.Via{lifecycle.Direct, lifecycle.Intake, lifecycle.Recycling, lifecycle.Dismantle, lifecycle.Allocation}

// Every pair of states through every path: exactly the diagram's steps
// through their own path pass when the facts allow everything; every other
// pair is a Conflict with a message.
func TestEveryPair(t *testing.T) {
	for _, from := range lifecycle.States {
		for _, to := range lifecycle.States {
			for _, via := range vias {
				err := lifecycle.Check(from, to, via, ready)
				want, inDiagram := diagram[[2]lifecycle.State{from, to}]
				if inDiagram && via == want {
					if err != nil {
						t.Errorf("%s → %s via %q: refused: %v", from, to, via, err)
					}
					continue
				}
				be := berriz.As(err)
				if err == nil || be.Kind != berriz.Conflict || be.Message == "" {
					t.Errorf("%s → %s via %q: %v, want a conflict with a message", from, to, via, err)
					continue
				}
				if be.KeyArgs["from"] != from.Key() || be.KeyArgs["to"] != to.Key() || be.Details["state"] != string(from) {
					t.Errorf("%s → %s: args %v, details %v", from, to, be.KeyArgs, be.Details)
				}
			}
		}
	}
}

func TestNextAndOptionsFollowTheDiagram(t *testing.T) {
	for _, from := range lifecycle.States {
		var want []lifecycle.State
		for _, to := range lifecycle.States {
			if _, ok := diagram[[2]lifecycle.State{from, to}]; ok {
				want = append(want, to)
			}
		}
		got := lifecycle.Next(from)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("Next(%s) = %v, want %v", from, got, want)
		}
		for _, o := range lifecycle.Options(from, ready) {
			if o.Refuse != nil || diagram[[2]lifecycle.State{from, o.To}] != o.Via {
				t.Errorf("option %s → %s via %q: %v", from, o.To, o.Via, o.Refuse)
			}
		}
	}
	if !lifecycle.Recycled.Final() || !lifecycle.Dismantled.Final() || lifecycle.Delivered.Final() {
		t.Error("Final")
	}
}

func TestUnknownStateIsInvalid(t *testing.T) {
	for _, pair := range [][2]lifecycle.State{{"lost", "received"}, {"received", ""}, {"RECEIVED", "diagnosed"}} {
		if k := berriz.KindOf(lifecycle.Check(pair[0], pair[1], lifecycle.Direct, ready)); k != berriz.Invalid {
			t.Errorf("%v: kind %v, want invalid", pair, k)
		}
	}
}

// The guards: each fact missing refuses exactly the steps that need it,
// with a message saying what to do first.
func TestGuards(t *testing.T) {
	with := func(change func(*lifecycle.Facts)) lifecycle.Facts {
		f := ready
		change(&f)
		return f
	}
	cases := []struct {
		name     string
		from, to lifecycle.State
		via      lifecycle.Via
		facts    lifecycle.Facts
		want     string // message key; "" means allowed
		args     map[string]string
	}{
		{"diagnosis needed", "received", "diagnosed", "", with(func(f *lifecycle.Facts) { f.Diagnosed = false }), "lifecycle.error.diagnosis_missing", nil},
		{"drives to record before diagnosis", "received", "diagnosed", "", with(func(f *lifecycle.Facts) { f.Drives = 1; f.DrivesErased = 0 }),
			"lifecycle.error.drives_unrecorded", map[string]string{"declared": "2", "recorded": "1"}},
		{"diagnosis needs no erasure", "received", "diagnosed", "", with(func(f *lifecycle.Facts) { f.DrivesErased = 0 }), "", nil},
		{"wiped needs every drive", "diagnosed", "wiped", "", with(func(f *lifecycle.Facts) { f.DrivesErased = 1 }),
			"lifecycle.error.erasure_missing", map[string]string{"count": "1"}},
		{"failed verification holds back", "diagnosed", "wiped", "", with(func(f *lifecycle.Facts) { f.DrivesErased = 1; f.DrivesFailed = 1 }),
			"lifecycle.error.erasure_failed", map[string]string{"count": "1"}},
		{"no storage: nothing to erase", "diagnosed", "wiped", "", lifecycle.Facts{Diagnosed: true}, "", nil},
		{"declared drive not recorded", "diagnosed", "wiped", "", lifecycle.Facts{StorageDrives: 1, Diagnosed: true},
			"lifecycle.error.drives_unrecorded", map[string]string{"declared": "1", "recorded": "0"}},
		{"grade before refurbished", "wiped", "refurbished", "", with(func(f *lifecycle.Facts) { f.Grade = "" }), "lifecycle.error.grade_missing", nil},
		{"OS before refurbished", "wiped", "refurbished", "", with(func(f *lifecycle.Facts) { f.OS = "" }), "lifecycle.error.os_missing", nil},
		{"no OS needed for a screen", "wiped", "refurbished", "", with(func(f *lifecycle.Facts) { f.NeedsOS = false; f.OS = "" }), "", nil},
		{"never available without erasure", "refurbished", "available", "", with(func(f *lifecycle.Facts) { f.Drives = 3; f.StorageDrives = 3 }),
			"lifecycle.error.erasure_missing", map[string]string{"count": "1"}},
		{"never available without grade", "refurbished", "available", "", with(func(f *lifecycle.Facts) { f.Grade = "" }), "lifecycle.error.grade_missing", nil},
		{"recycling needs erasure", "diagnosed", "recycled", lifecycle.Recycling, with(func(f *lifecycle.Facts) { f.DrivesErased = 0 }),
			"lifecycle.error.erasure_missing", map[string]string{"count": "2"}},
		{"dismantling needs erasure", "received", "dismantled", lifecycle.Dismantle, with(func(f *lifecycle.Facts) { f.DrivesErased = 0 }),
			"lifecycle.error.erasure_missing", map[string]string{"count": "2"}},
		{"recycling batch holds the device", "wiped", "refurbished", "", with(func(f *lifecycle.Facts) { f.InRecyclingBatch = true }), "lifecycle.error.in_recycling", nil},
		{"the batch itself may recycle it", "wiped", "recycled", lifecycle.Recycling, with(func(f *lifecycle.Facts) { f.InRecyclingBatch = true }), "", nil},
		{"recycling has its path", "wiped", "recycled", "", ready, "lifecycle.error.path", nil},
		{"reservation released through allocation only", "reserved", "available", "", ready, "lifecycle.error.path", nil},
		{"skipping a step", "received", "wiped", "", ready, "lifecycle.error.order", nil},
		{"final", "recycled", "received", lifecycle.Intake, ready, "lifecycle.error.final", nil},
		{"same state", "wiped", "wiped", "", ready, "lifecycle.error.already", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := lifecycle.Check(c.from, c.to, c.via, c.facts)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			be := berriz.As(err)
			if err == nil || be.Kind != berriz.Conflict || be.Message != c.want {
				t.Fatalf("got %v, want %s", err, c.want)
			}
			for k, v := range c.args {
				if be.Args[k] != v {
					t.Errorf("arg %s = %q, want %q", k, be.Args[k], v)
				}
			}
		})
	}
}

// What to do first, for steps out of order.
func TestNeed(t *testing.T) {
	cases := map[[2]lifecycle.State]string{
		{"received", "wiped"}:        "lifecycle.need.state.diagnosed",
		{"received", "available"}:    "lifecycle.need.state.refurbished",
		{"declared", "diagnosed"}:    "lifecycle.need.intake",
		{"reserved", "recycled"}:     "lifecycle.need.release",
		{"delivered", "diagnosed"}:   "lifecycle.need.return",
		{"available", "returned"}:    "lifecycle.need.delivered",
		{"returned", "wiped"}:        "lifecycle.need.rediagnose",
		{"wiped", "diagnosed"}:       "lifecycle.need.backward",
		{"refurbished", "received"}:  "lifecycle.need.backward",
		{"received", "refurbished"}:  "lifecycle.need.state.wiped",
		{"diagnosed", "refurbished"}: "lifecycle.need.state.wiped",
	}
	for pair, want := range cases {
		be := berriz.As(lifecycle.Check(pair[0], pair[1], lifecycle.Direct, ready))
		if be.Message != "lifecycle.error.order" || be.KeyArgs["need"] != want {
			t.Errorf("%s → %s: %s need %q, want %q", pair[0], pair[1], be.Message, be.KeyArgs["need"], want)
		}
	}
}

// Keys lists every translation key the package may produce, for the
// server's catalog test.
func TestKeysAreListed(t *testing.T) {
	keys := lifecycle.Keys()
	seen := map[string]bool{}
	for _, k := range keys {
		seen[k] = true
	}
	for _, from := range lifecycle.States {
		for _, to := range lifecycle.States {
			for _, via := range vias {
				for _, f := range []lifecycle.Facts{ready, {StorageDrives: 1}, {Drives: 1, StorageDrives: 1, DrivesFailed: 1},
					{InRecyclingBatch: true}, {Diagnosed: true, NeedsOS: true}} {
					err := lifecycle.Check(from, to, via, f)
					if err == nil {
						continue
					}
					be := berriz.As(err)
					for _, k := range append([]string{be.Message}, values(be.KeyArgs)...) {
						if !seen[k] {
							t.Errorf("%s → %s: key %s not in Keys()", from, to, k)
						}
					}
				}
			}
		}
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
