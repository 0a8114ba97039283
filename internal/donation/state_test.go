package donation

import (
	"testing"

	"github.com/berriz/berriz/internal/berriz"
)

func TestTransitions(t *testing.T) {
	tests := []struct {
		from, to State
		kind     berriz.Kind // -1: allowed
		key      string
	}{
		{Declared, Collected, -1, ""},
		{Collected, Received, -1, ""},
		{Received, Closed, -1, ""},
		{Declared, Received, berriz.Conflict, "donation.error.state_skip"},
		{Declared, Closed, berriz.Conflict, "donation.error.state_skip"},
		{Collected, Closed, berriz.Conflict, "donation.error.state_skip"},
		{Collected, Declared, berriz.Conflict, "donation.error.state_backwards"},
		{Received, Collected, berriz.Conflict, "donation.error.state_backwards"},
		{Closed, Received, berriz.Conflict, "donation.error.state_closed"},
		{Closed, Declared, berriz.Conflict, "donation.error.state_closed"},
		{Declared, Declared, berriz.Conflict, "donation.error.state_same"},
		{Closed, Closed, berriz.Conflict, "donation.error.state_same"},
		{Declared, "lost", berriz.Invalid, "donation.error.state_unknown"},
		{"lost", Collected, berriz.Invalid, "donation.error.state_unknown"},
	}
	for _, tt := range tests {
		err := tt.from.CheckTransition(tt.to)
		if tt.kind == -1 {
			if err != nil {
				t.Errorf("%s -> %s refused: %v", tt.from, tt.to, err)
			}
			continue
		}
		if e := berriz.As(err); err == nil || e.Kind != tt.kind || e.Message != tt.key {
			t.Errorf("%s -> %s = %v, want %v %s", tt.from, tt.to, err, tt.kind, tt.key)
		}
	}
	for i, s := range States {
		next, ok := s.Next()
		if i == len(States)-1 {
			if ok {
				t.Errorf("%s has a next state %s", s, next)
			}
			continue
		}
		if !ok || next != States[i+1] || s.CheckTransition(next) != nil {
			t.Errorf("%s.Next() = %s, %v", s, next, ok)
		}
	}
	if State("x").Valid() || !Closed.Valid() {
		t.Error("Valid")
	}
}
