package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/scan"
	"github.com/labstack/echo/v5"
)

// POST /api/v1/scan: one scan of the station, sent by its script (with the
// session cookie and the X-CSRF-Token header) or by any client with a
// token. It is idempotent by the client's key: the browser queues scans
// while the network is down and replays them when it is back, possibly
// twice, so the first answer for (user, key) is stored and given again to
// a replay of the same request; the same key with another request is a
// conflict, never a second effect.

// scanKeyRE is the shape of a client's key (crypto.randomUUID fits).
var scanKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// scanRequest is the body of POST /scan.
type scanRequest struct {
	Key    string `json:"key"`
	Code   string `json:"code"`
	Action string `json:"action"`
}

// hash identifies the request a key was first used for.
func (r scanRequest) hash() string {
	sum := sha256.Sum256([]byte("berriz/scan/v1\n" + strconv.Itoa(len(r.Code)) + ":" + r.Code + "\n" + r.Action))
	return hex.EncodeToString(sum[:])
}

// scanAnswer is what a scan did, for the station's script.
type scanAnswer struct {
	Key     string      `json:"key"`
	Code    string      `json:"code"`
	Outcome string      `json:"outcome"` // done, info, refused, not_found, invalid
	Result  string      `json:"result"`  // the message's translation key
	Message string      `json:"message"`
	Action  string      `json:"action"`           // the action in force after the scan ("" for none)
	Banner  string      `json:"banner,omitempty"` // how the station names that action
	Device  *scanDevice `json:"device,omitempty"`
	Next    string      `json:"next,omitempty"` // the station's page that shows what the code leads to
}

type scanDevice struct {
	ID    int64  `json:"id"`
	Label string `json:"label"`
	State string `json:"state"`
	URL   string `json:"url"`
}

var errScanKeyReused = &berriz.Error{Kind: berriz.Conflict, Code: "scan_key_reused", Message: "scan.error.key_reused"}
var errScanKeyPending = &berriz.Error{Kind: berriz.Conflict, Code: "scan_key_pending", Message: "scan.error.key_pending"}

// apiScan applies one scan once per key.
func (s *Server) apiScan(c *echo.Context) error {
	var in scanRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	fe := berriz.FieldErrors{}
	if !scanKeyRE.MatchString(in.Key) {
		fe.Add("key", "scan.error.key")
	}
	if in.Code == "" || len(in.Code) > 300 {
		fe.Add("code", "scan.error.code")
	}
	action, ok := scan.ParseAction(in.Action)
	if !ok {
		fe.Add("action", "scan.error.action")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principalOf(c)
	if p.UserID == 0 {
		return berriz.E(berriz.Forbidden, "scan.error.user_only") // keys are a user's
	}
	prev, claimed, err := s.store.ClaimScanReplay(ctx, p.UserID, in.Key, in.hash(), s.now())
	if err != nil {
		return err
	}
	if !claimed {
		switch {
		case prev.Hash != in.hash():
			return errScanKeyReused
		case prev.Status == 0:
			return errScanKeyPending
		}
		c.Response().Header().Set("Idempotent-Replayed", "true")
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.JSONBlob(prev.Status, prev.Response)
	}
	answer, err := s.scanAnswer(c, in, action)
	if err != nil {
		if rerr := s.store.ReleaseScanReplay(ctx, p.UserID, in.Key); rerr != nil {
			s.logFor(c).Warn("release scan key", "error", rerr.Error())
		}
		return err
	}
	body, err := json.Marshal(answer)
	if err != nil {
		return err
	}
	if body, err = s.store.FinishScanReplay(ctx, p.UserID, in.Key, http.StatusOK, body); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSONBlob(http.StatusOK, body)
}

// scanAnswer applies the scan and describes what it did.
func (s *Server) scanAnswer(c *echo.Context, in scanRequest, action scan.Action) (scanAnswer, error) {
	out, err := s.applyScan(c, in.Code, action)
	if err != nil {
		return scanAnswer{}, err
	}
	lang := langOf(c)
	a := scanAnswer{Key: in.Key, Code: out.Code, Outcome: out.Outcome, Result: out.Result, Message: s.scanText(lang, out.ScanEntry),
		Action: out.Action.String()}
	if out.Next != "" {
		a.Next = localURL(lang, out.Next)
	}
	banner, err := s.actionBanner(c, out.Action)
	if err != nil {
		return scanAnswer{}, err
	}
	a.Banner = banner.Banner
	if out.DeviceID != 0 {
		if a.Device, err = s.scanDeviceOf(c, out.DeviceID); err != nil {
			return scanAnswer{}, err
		}
	}
	return a, nil
}

// scanDeviceOf names the device a scan touched, as it is now.
func (s *Server) scanDeviceOf(c *echo.Context, id int64) (*scanDevice, error) {
	ctx := c.Request().Context()
	label, err := s.store.DeviceLabel(ctx, id)
	if err != nil {
		return nil, err
	}
	st, _, err := s.store.DeviceFacts(ctx, id, postgres.DonationScope{})
	if err != nil {
		return nil, err
	}
	return &scanDevice{ID: id, Label: label, State: string(st.State), URL: deviceURL(c, id)}, nil
}
