// Package push owns the rules of the observatory push (docs/observatory-push.md):
// which URLs a subscription may name, how its secret is drawn, how a body is
// signed, which month has closed at a given time and how long to wait before
// trying a failed delivery again. Standard library only, no I/O: the store
// keeps subscriptions and deliveries, the server sends.
package push

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/berriz"
)

// Headers of a push request.
const (
	HeaderSignature = "X-Berriz-Signature" // "sha256=" + hex HMAC-SHA256 of the raw body
	HeaderDelivery  = "X-Berriz-Delivery"  // the delivery id: the same on every attempt of a month
	HeaderTimestamp = "X-Berriz-Timestamp" // Unix seconds of this attempt, also in the body as sent_at
	HeaderAttempt   = "X-Berriz-Attempt"   // 1 for the first attempt
	SignaturePrefix = "sha256="
)

// Delivery statuses.
const (
	Pending   = "pending"
	Delivered = "delivered"
	Failed    = "failed"
)

// SecretPrefix marks berriz push secrets, so that one pasted in the wrong
// place is recognised.
const SecretPrefix = "bzwh_"

// MaxURL bounds a subscription URL.
const MaxURL = 2000

// NewSecret draws a subscription secret: 32 random bytes, base64url, with
// SecretPrefix. The whole string, as shown, is the HMAC key.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: crypto/rand crashes the program instead
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// Sign returns the X-Berriz-Signature value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return SignaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature is body's under secret, in constant
// time: what a receiver does (the documentation shows it in shell and Go).
func Verify(secret string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

// CheckURL validates a subscription URL: absolute, https, a host, no user
// information (a password would be shown on every page listing it) and no
// fragment. Plain http is accepted only when allowHTTP is set (development
// and tests) and the host is a loopback address, so that a production
// server never sends figures and signatures in clear.
func CheckURL(raw string, allowHTTP bool) (string, error) {
	raw = strings.TrimSpace(raw)
	bad := func(key string) (string, error) {
		f := berriz.FieldErrors{}
		f.Add("url", key)
		return "", f.Err()
	}
	if raw == "" {
		return bad("push.error.url_required")
	}
	if len(raw) > MaxURL {
		return bad("push.error.url_long")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return bad("push.error.url_invalid")
	}
	if u.User != nil || u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n") {
		return bad("push.error.url_invalid")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP || !loopback(u.Hostname()) {
			return bad("push.error.url_https")
		}
	default:
		return bad("push.error.url_https")
	}
	return u.String(), nil
}

// loopback accepts the names a local receiver is reached by, without DNS.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Zone is where months begin and end: the territory's time.
func Zone() *time.Location {
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		return loc
	}
	// No time zone database: a fixed UTC+1 is wrong by an hour half the
	// year, which the grace period covers.
	return time.FixedZone("CET", 3600)
}

// LastClosed returns the first day of the latest month that has closed at
// now: a month closes when the next one begins (00:00, Paris time) plus
// grace, which leaves time for the handovers confirmed around midnight.
func LastClosed(now time.Time, grace time.Duration) time.Time {
	l := now.Add(-grace).In(Zone())
	// The month before the one now-grace falls in.
	return time.Date(l.Year(), l.Month()-1, 1, 0, 0, 0, 0, time.UTC)
}

// Month formats a month as the payload and the API write it.
func Month(m time.Time) string { return m.Format("2006-01") }

// backoff is the wait after each failed attempt: the first retries come
// quickly (a receiver restarting), the later ones spread over days (a
// receiver down for a weekend still gets its month).
var backoff = []time.Duration{
	time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// Backoff returns how long to wait after the attempt-th attempt failed
// (attempt counts from 1) before the next one. Past the table it stays at
// its last step.
func Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	return backoff[min(attempt, len(backoff))-1]
}

// Next says what follows a failed attempt: the time of the next one, or
// false when maxAttempts have been made and the delivery has failed.
func Next(now time.Time, attempt, maxAttempts int) (time.Time, bool) {
	if attempt >= maxAttempts {
		return time.Time{}, false
	}
	return now.Add(Backoff(attempt)), true
}
