// Package scan owns the scan station's action cards: printed QR codes of
// <public URL>/a/<action> that set what the station does to the tags
// scanned next — receive the device, move it to a location, send it to
// recycling, publish it — until the "stop" card. Cards live in their own
// URL namespace (/a/), apart from tags (/t/), so no tag code can ever mean
// an action. The action in force travels as a short value ("receive",
// "move:12"): in the station's cookie, and with every scan the browser
// queues offline, so a replayed scan applies the action that was in force
// when it was scanned. Standard library only; no I/O.
package scan

import (
	"net/url"
	"strconv"
	"strings"
)

// Kind is what an action card does.
type Kind string

// The cards, in the order the cards page prints them.
const (
	Receive Kind = "receive" // mark received the declared device a tag is linked to
	Move    Kind = "move"    // put the device on a location of the workshop
	Recycle Kind = "recycle" // add the device to the workshop's open recycling batch
	Publish Kind = "publish" // refurbished → available
	Stop    Kind = "stop"    // end the action: scans are only looked up
)

// Kinds lists the cards. Move cards are one per location.
var Kinds = []Kind{Receive, Move, Recycle, Publish, Stop}

// Action is an action in force, or a card just scanned: its kind and, for
// a move, the location.
type Action struct {
	Kind     Kind
	Location int64
}

// None is no action: a scanned tag is looked up.
var None = Action{}

// String is the action's value in the cookie and the offline queue:
// "receive", "move:12", "" for none.
func (a Action) String() string {
	switch a.Kind {
	case Move:
		return "move:" + strconv.FormatInt(a.Location, 10)
	case Stop:
		return ""
	}
	return string(a.Kind)
}

// Path is the card's URL path: /a/receive, /a/move/12.
func (a Action) Path() string {
	if a.Kind == Move {
		return "/a/move/" + strconv.FormatInt(a.Location, 10)
	}
	return "/a/" + string(a.Kind)
}

// maxInput bounds what is worth parsing: a card's URL is short.
const maxInput = 300

// ParseAction reads an action value (String's form); "" and "stop" are
// None. ok is false for anything else, which callers refuse.
func ParseAction(s string) (Action, bool) {
	switch s {
	case "", string(Stop):
		return None, true
	case string(Receive), string(Recycle), string(Publish):
		return Action{Kind: Kind(s)}, true
	}
	if rest, ok := strings.CutPrefix(s, "move:"); ok {
		if id, ok := parseID(rest); ok {
			return Action{Kind: Move, Location: id}, true
		}
	}
	return None, false
}

// ParseCard recognises an action card as a scanner types it: the card's
// full URL or its path (/a/<kind>, /a/move/<id>), in any case, with or
// without a language or deployment prefix of one segment. ok is false for
// anything that is not a card (a tag, garbage).
func ParseCard(s string) (Action, bool) {
	s = strings.TrimSpace(s)
	if len(s) > maxInput || s == "" {
		return None, false
	}
	if u, err := url.Parse(s); err == nil && u.Path != "" {
		s = u.Path
	}
	segs := strings.Split(strings.Trim(strings.ToLower(s), "/"), "/")
	at := -1
	for i, seg := range segs {
		if seg == "a" && i <= 1 {
			at = i
		}
	}
	if at < 0 {
		return None, false
	}
	rest := segs[at+1:]
	switch {
	case len(rest) == 1 && (rest[0] == string(Receive) || rest[0] == string(Recycle) || rest[0] == string(Publish) ||
		rest[0] == string(Stop)):
		return Action{Kind: Kind(rest[0])}, true
	case len(rest) == 2 && rest[0] == string(Move):
		if id, ok := parseID(rest[1]); ok {
			return Action{Kind: Move, Location: id}, true
		}
	}
	return None, false
}

func parseID(s string) (int64, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" || len(s) > 18 {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}
