package allocation_test

import (
	"testing"

	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
)

func TestRequestSteps(t *testing.T) {
	allowed := map[[2]allocation.RequestState]bool{
		{"submitted", "approved"}: true, {"submitted", "declined"}: true, {"submitted", "cancelled"}: true,
		{"approved", "partially_fulfilled"}: true, {"approved", "fulfilled"}: true, {"approved", "cancelled"}: true,
		{"partially_fulfilled", "fulfilled"}: true, {"partially_fulfilled", "cancelled"}: true,
	}
	for _, from := range allocation.RequestStates {
		for _, to := range allocation.RequestStates {
			err := allocation.CheckRequestStep(from, to)
			if allowed[[2]allocation.RequestState{from, to}] != (err == nil) {
				t.Errorf("%s → %s: %v", from, to, err)
			}
			if err != nil && berriz.KindOf(err) != berriz.Conflict {
				t.Errorf("%s → %s: kind %v", from, to, berriz.KindOf(err))
			}
		}
	}
	if berriz.KindOf(allocation.CheckRequestStep("lost", "approved")) != berriz.Invalid {
		t.Error("unknown state")
	}
}

func TestFulfilment(t *testing.T) {
	cases := []struct {
		from              allocation.RequestState
		delivered, wanted int
		want              allocation.RequestState
	}{
		{"approved", 0, 5, "approved"},
		{"approved", 2, 5, "partially_fulfilled"},
		{"partially_fulfilled", 5, 5, "fulfilled"},
		{"approved", 6, 5, "fulfilled"},
		{"cancelled", 5, 5, "cancelled"},
		{"submitted", 1, 5, "submitted"},
	}
	for _, c := range cases {
		if got := allocation.FulfilmentState(c.from, c.delivered, c.wanted); got != c.want {
			t.Errorf("%s %d/%d: %s, want %s", c.from, c.delivered, c.wanted, got, c.want)
		}
	}
}

func TestPriority(t *testing.T) {
	cases := []struct {
		cs   []allocation.Criterion
		want int
	}{
		{nil, 0},
		{[]allocation.Criterion{"rep"}, 30},
		{[]allocation.Criterion{"rep_plus"}, 40},
		{[]allocation.Criterion{"rep", "rep_plus"}, 40}, // counted once, the higher
		{[]allocation.Criterion{"rep_plus", "qpv", "social"}, 90},
		{[]allocation.Criterion{"unknown"}, 0},
	}
	for _, c := range cases {
		if got := allocation.Priority(c.cs); got != c.want {
			t.Errorf("%v: %d, want %d", c.cs, got, c.want)
		}
	}
	for _, c := range allocation.Criteria() {
		if !c.Valid() || c.Key() == "" {
			t.Errorf("criterion %s", c)
		}
	}
}
