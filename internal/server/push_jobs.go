package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/push"
)

// The observatory push's background jobs (docs/observatory-push.md). Every
// tick, each instance opens the deliveries of the months that have closed
// (idempotent: one per subscription and month) and sends those due, one
// claim at a time: a claim leases its delivery, so several instances share
// the work without sending anything twice (see postgres/push_deliveries.go).

const (
	// pushPerRun bounds the attempts one instance makes per tick.
	pushPerRun = 50
	// pushResponseLimit bounds what is read of a receiver's answer: only
	// its status matters, and a little of its body for the log.
	pushResponseLimit = 64 << 10
	// pushErrorText is how much of a failed answer's body the log keeps.
	pushErrorText = 200
	// pushRedirects bounds the redirects followed, to the same host only.
	pushRedirects = 3
	// pushEvent names the payload's kind, for receivers of several hooks.
	pushEvent = "observatory.month_closed"
)

// pushJobs are the push's background jobs: open the closed months first,
// so that a month's deliveries go out in the tick that opened them.
func (s *Server) pushJobs() []job {
	return []job{
		{name: "push_open_months", run: s.openPushMonths},
		{name: "push_send", run: s.sendPushes},
	}
}

// pushLease is how long a claimed delivery is kept from other instances:
// longer than a send can take, with margin for recording it.
func (s *Server) pushLease() time.Duration { return 2*s.cfg.PushTimeout + time.Minute }

// pushAllowHTTP says whether plain-http URLs to loopback addresses may be
// registered: in development and tests only (docs/observatory-push.md).
func (s *Server) pushAllowHTTP() bool { return !s.cfg.Production() }

func (s *Server) openPushMonths(ctx context.Context, now time.Time) error {
	n, err := s.store.OpenPushMonths(ctx, push.LastClosed(now, s.cfg.PushGrace), now)
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("push deliveries opened", "count", n)
	}
	return nil
}

// sendPushes claims the due deliveries one by one and sends them.
func (s *Server) sendPushes(ctx context.Context, now time.Time) error {
	client := s.pushClient()
	totals := monthTotals{}
	sent, failed := 0, 0
	for range pushPerRun {
		if ctx.Err() != nil {
			break
		}
		claims, err := s.store.ClaimPushDeliveries(ctx, now, s.pushLease(), 1)
		if err != nil {
			return err
		}
		if len(claims) == 0 {
			break
		}
		delivered, err := s.deliverPush(ctx, client, claims[0], totals)
		if err != nil {
			return err
		}
		if delivered {
			sent++
		} else {
			failed++
		}
	}
	if sent+failed > 0 {
		s.log.Info("push attempts", "delivered", sent, "not_delivered", failed)
	}
	return nil
}

// pushClient posts with a timeout and follows redirects only to the same
// scheme and host, as POST (a 301/302/303 would turn it into a GET, whose
// 200 must not count as a delivery).
func (s *Server) pushClient() *http.Client {
	return &http.Client{
		Timeout: s.cfg.PushTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			first := via[0].URL
			switch {
			case len(via) > pushRedirects:
				return errors.New("too many redirects")
			case req.Method != http.MethodPost:
				return fmt.Errorf("redirect to %s turns the POST into %s", req.URL.Redacted(), req.Method)
			case req.URL.Scheme != first.Scheme || req.URL.Host != first.Host:
				return fmt.Errorf("redirect to another host refused: %s", req.URL.Redacted())
			}
			return nil
		},
	}
}

// PushPayload is the body berriz POSTs (openapi/push.json, webhooks).
type PushPayload struct {
	Event          string     `json:"event"`
	DeliveryID     int64      `json:"delivery_id"`
	SubscriptionID int64      `json:"subscription_id"`
	OrganisationID int64      `json:"organisation_id"`
	Month          string     `json:"month"`
	Attempt        int        `json:"attempt"`
	SentAt         time.Time  `json:"sent_at"`
	Totals         PushTotals `json:"totals"`
}

// monthTotals keeps each month's totals for one run of sendPushes: the
// subscriptions due for a month are sent the same figures, read once.
type monthTotals map[string]PushTotals // by YYYY-MM

// deliverPush makes one attempt of a claimed delivery and records it. It
// reports whether the receiver took it; the error is ours (recording).
func (s *Server) deliverPush(ctx context.Context, client *http.Client, c postgres.PushClaim, totals monthTotals) (bool, error) {
	at := s.now().UTC().Truncate(time.Second)
	start := time.Now()
	status, sendErr := s.postPush(ctx, client, c, at, totals)
	o := postgres.PushOutcome{DeliveryID: c.DeliveryID, Attempt: c.Attempt, At: at, Duration: time.Since(start), HTTPStatus: status}
	if sendErr == nil {
		o.Delivered = true
	} else {
		o.Error = sendErr.Error()
		if next, ok := push.Next(at, c.Attempt, s.cfg.PushMaxAttempts); ok {
			o.Next = &next
		}
		s.log.Warn("push attempt failed", "delivery_id", c.DeliveryID, "attempt", c.Attempt, "status", status,
			"error", o.Error, "retry", o.Next != nil)
	}
	// Record even when the job's context ends (shutdown): the attempt was
	// made, and an unrecorded one would wait for its lease to end.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if _, err := s.store.RecordPushAttempt(rctx, o); err != nil {
		return false, err
	}
	return o.Delivered, nil
}

// postPush builds the body and POSTs it; a nil error means a 2xx answer.
// The status is 0 when there was no answer.
func (s *Server) postPush(ctx context.Context, client *http.Client, c postgres.PushClaim, at time.Time,
	cache monthTotals) (int, error) {
	totals, ok := cache[push.Month(c.Month)]
	if !ok {
		var err error
		if totals, err = s.pushTotals(ctx, c.Month); err != nil {
			s.log.Error("push totals", "delivery_id", c.DeliveryID, "error", err.Error())
			return 0, errors.New("berriz could not compute the totals; it will try again")
		}
		cache[push.Month(c.Month)] = totals
	}
	body, err := json.Marshal(PushPayload{Event: pushEvent, DeliveryID: c.DeliveryID, SubscriptionID: c.SubscriptionID,
		OrganisationID: c.OrgID, Month: push.Month(c.Month), Attempt: c.Attempt, SentAt: at, Totals: totals})
	if err != nil {
		return 0, fmt.Errorf("encode payload: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "berriz-push/1")
	req.Header.Set(push.HeaderSignature, push.Sign(c.Secret, body))
	req.Header.Set(push.HeaderDelivery, strconv.FormatInt(c.DeliveryID, 10))
	req.Header.Set(push.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(push.HeaderAttempt, strconv.Itoa(c.Attempt))
	resp, err := client.Do(req)
	if err != nil {
		return 0, errors.New(pushErrorString(err))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, pushResponseLimit))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	msg := "HTTP " + strconv.Itoa(resp.StatusCode)
	if text := pushSnippet(snippet); text != "" {
		msg += ": " + text
	}
	return resp.StatusCode, errors.New(msg)
}

// pushErrorString keeps a transport error readable in the log without the
// URL, which the page shows next to it anyway.
func pushErrorString(err error) string {
	var uerr interface{ Unwrap() error }
	if errors.As(err, &uerr) && strings.HasPrefix(err.Error(), "Post ") {
		if inner := uerr.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// pushSnippet is the start of an answer's body, on one line, valid UTF-8.
func pushSnippet(b []byte) string {
	b = b[:min(len(b), pushErrorText)]
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return strings.Join(strings.Fields(string(b)), " ")
}
