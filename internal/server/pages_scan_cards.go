package server

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/scan"
	"github.com/labstack/echo/v5"
	qrcode "github.com/skip2/go-qrcode"
)

// Action cards (internal/scan) are QR codes of <public URL>/a/<action>:
// receive, move to a location (one card per location of the workshop),
// send to recycling, publish, stop. The action in force is a cookie of the
// browser at the station, shown on the station at all times; every scan is
// still checked device by device by the same store calls as the pages.
// A phone whose camera reads a card opens its URL: a page with one button,
// because a GET must not change anything.

const (
	scanActionCookie = "berriz_scan_action"
	// scanActionLife: an action left on overnight should not surprise the
	// next morning's shift.
	scanActionLife = 12 * time.Hour
)

// A card's title is "scan.cards." + kind, its hint the same + "_hint",
// its confirmation "scan.action_confirm." + kind; bannerKeys are the
// banner the station shows while the action is in force and its help.
var bannerKeys = map[scan.Kind]struct{ on, help string }{
	scan.Receive: {"scan.action.on_receive", "scan.action.help_receive"},
	scan.Move:    {"scan.action.on_move", "scan.action.help_move"},
	scan.Recycle: {"scan.action.on_recycle", "scan.action.help_recycle"},
	scan.Publish: {"scan.action.on_publish", "scan.action.help_publish"},
}

// scanAction is the action in force at this browser's station.
func scanAction(c *echo.Context) scan.Action {
	if ck, err := c.Cookie(scanActionCookie); err == nil {
		if a, ok := scan.ParseAction(ck.Value); ok {
			return a
		}
	}
	return scan.None
}

// actionView is the action in force as the station shows it.
type actionView struct {
	Value    string // scan.Action.String()
	Banner   string // translated: "Card “Receive” on."
	Help     string // translation key
	Location string
}

// actionBanner describes the action in force; a move card whose location
// is gone (or not the scanner's) counts as none.
func (s *Server) actionBanner(c *echo.Context, a scan.Action) (actionView, error) {
	if a == scan.None {
		return actionView{}, nil
	}
	v := actionView{Value: a.String(), Help: bannerKeys[a.Kind].help}
	if a.Kind == scan.Move {
		loc, err := s.store.Location(c.Request().Context(), a.Location, scope(principalOf(c)))
		if err != nil {
			return actionView{}, orFound(err)
		}
		v.Location = loc.Name
	}
	v.Banner = s.cat.T(langOf(c), bannerKeys[a.Kind].on, map[string]string{"location": v.Location})
	return v, nil
}

// orFound is nil for a not-found error (the thing is gone: ignore it) and
// err otherwise.
func orFound(err error) error {
	if _, status := classify(err); status == http.StatusNotFound {
		return nil
	}
	return err
}

// cardAction reads the card of the URL: /a/<kind> or /a/move/<id>.
func cardAction(c *echo.Context) (scan.Action, error) {
	a, ok := scan.ParseCard(c.Request().URL.Path)
	if !ok {
		return scan.None, errPageNotFound
	}
	if a.Kind == scan.Move {
		id, err := idParam(c, "id")
		if err != nil {
			return scan.None, err
		}
		a.Location = id
	}
	return a, nil
}

type actionConfirmPage struct {
	Path, Text string
}

// actionCardConfirm is what a phone opens when its camera reads a card: a
// page with one button (a link on another site could otherwise switch the
// station's mode). A move card of another workshop's location is not found.
func (s *Server) actionCardConfirm(c *echo.Context) error {
	a, err := cardAction(c)
	if err != nil {
		return err
	}
	args := map[string]string{}
	if a.Kind == scan.Move {
		loc, err := s.store.Location(c.Request().Context(), a.Location, scope(principalOf(c)))
		if err != nil {
			return err
		}
		args["location"] = loc.Name
	}
	text := s.cat.T(langOf(c), "scan.action_confirm."+string(a.Kind), args)
	return s.render(c, http.StatusOK, "scan_action", "scan.action_confirm.title", actionConfirmPage{Path: a.Path(), Text: text})
}

// actionCard is the confirmation's button: the card is applied as if
// scanned at the station, then the station shows it.
func (s *Server) actionCard(c *echo.Context) error {
	a, err := cardAction(c)
	if err != nil {
		return err
	}
	if a.Kind == scan.Move {
		if _, err := s.store.Location(c.Request().Context(), a.Location, scope(principalOf(c))); err != nil {
			return err
		}
	}
	if _, err := s.applyScan(c, a.Path(), scanAction(c)); err != nil {
		return err
	}
	return s.scanRedirect(c, "")
}

type actionCardView struct {
	Title, Hint, URL string
	Args             map[string]string // placeholders of Title
	QR               template.HTML
}

type cardsPage struct {
	Cards     []actionCardView
	Locations []actionCardView
	Total     int
	Pager     Pager
}

// scanCards shows the printable action cards: the fixed ones, then the
// move cards of the workshop's locations, a page of them at a time.
func (s *Server) scanCards(c *echo.Context) error {
	var d cardsPage
	for _, k := range scan.Kinds {
		if k == scan.Move {
			continue
		}
		v, err := s.cardView(scan.Action{Kind: k}, nil)
		if err != nil {
			return err
		}
		d.Cards = append(d.Cards, v)
	}
	locs, page, err := s.store.Locations(c.Request().Context(), scope(principalOf(c)), pageParam(c))
	if err != nil {
		return err
	}
	for _, l := range locs {
		name := l.Name
		if principalOf(c).IsOperator() {
			name += " — " + l.WorkshopName
		}
		v, err := s.cardView(scan.Action{Kind: scan.Move, Location: l.ID}, map[string]string{"location": name})
		if err != nil {
			return err
		}
		d.Locations = append(d.Locations, v)
	}
	d.Total, d.Pager = page.Total, s.pager(c, page)
	return s.render(c, http.StatusOK, "scan_cards", "scan.cards.title", d)
}

func (s *Server) cardView(a scan.Action, args map[string]string) (actionCardView, error) {
	u := s.absoluteURL(a.Path())
	svg, err := qrSVG(u)
	if err != nil {
		return actionCardView{}, err
	}
	title := "scan.cards." + string(a.Kind)
	return actionCardView{Title: title, Hint: title + "_hint", URL: u, Args: args, QR: svg}, nil
}

// qrSVG draws a QR code as one inline SVG path (error correction Q, as
// tags). internal/label draws tag labels only; action cards are not tags.
func qrSVG(content string) (template.HTML, error) {
	q, err := qrcode.New(content, qrcode.High)
	if err != nil {
		return "", fmt.Errorf("encode QR of %s: %w", content, err)
	}
	bm := q.Bitmap() // with its quiet zone
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="200" height="200" aria-hidden="true" focusable="false">`+
		`<rect width="%d" height="%d" fill="#fff"/><path fill="#000" shape-rendering="crispEdges" d="`, len(bm), len(bm), len(bm), len(bm))
	for r, line := range bm {
		for x := 0; x < len(line); {
			if !line[x] {
				x++
				continue
			}
			start := x
			for x < len(line) && line[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, r, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()), nil // built here from numbers only
}
