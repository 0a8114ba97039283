package scan

import "testing"

func TestParseCard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Action
		ok   bool
	}{
		{"https://berriz.example/a/receive", Action{Kind: Receive}, true},
		{"HTTPS://BERRIZ.EXAMPLE/A/RECEIVE", Action{Kind: Receive}, true},
		{"/a/recycle/", Action{Kind: Recycle}, true},
		{" /eu/a/publish ", Action{Kind: Publish}, true},
		{"http://x/a/stop", Action{Kind: Stop}, true},
		{"https://berriz.example/a/move/12", Action{Kind: Move, Location: 12}, true},
		{"/A/MOVE/7", Action{Kind: Move, Location: 7}, true},
		{"/a/move/0", None, false},
		{"/a/move/-3", None, false},
		{"/a/move/x", None, false},
		{"/a/move/99999999999999999999", None, false},
		{"/a/move", None, false},
		{"/a/explode", None, false},
		{"/x/y/a/receive", None, false},
		{"/t/7KQ2-M9XD", None, false},
		{"7KQ2M9XD", None, false},
		{"", None, false},
		{"/a/receive/more", None, false},
		{"https://berriz.example/a/" + string(make([]byte, 400)), None, false},
	} {
		got, ok := ParseCard(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseCard(%.40q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestActionValues(t *testing.T) {
	for _, a := range []Action{{Kind: Receive}, {Kind: Recycle}, {Kind: Publish}, {Kind: Move, Location: 42}, None} {
		got, ok := ParseAction(a.String())
		if !ok || got != a {
			t.Errorf("round trip of %+v: %+v, %v", a, got, ok)
		}
		if a != None {
			if card, ok := ParseCard(a.Path()); !ok || card != a {
				t.Errorf("card of %+v: %+v, %v", a, card, ok)
			}
		}
	}
	if a, ok := ParseAction("stop"); !ok || a != None {
		t.Errorf("stop: %+v, %v", a, ok)
	}
	if (Action{Kind: Stop}).String() != "" || (Action{Kind: Stop}).Path() != "/a/stop" {
		t.Error("stop card")
	}
	for _, bad := range []string{"move", "move:", "move:0", "move:-1", "move:1x", "Receive", "delete", "move:12:3"} {
		if _, ok := ParseAction(bad); ok {
			t.Errorf("ParseAction(%q) accepted", bad)
		}
	}
}
