// Package mail sends berriz's e-mail (invitations, password resets, digests):
// plain-text UTF-8 messages, one SMTP connection per message. When no SMTP
// server is configured the message is written to the log instead, and the
// caller is told so (Logged) that it can show the content, and the link in it,
// to the operator on screen. This package owns message composition and
// transport only; the wording of messages belongs to the callers and their
// translation catalogs.
package mail

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is one plain-text e-mail to one recipient. There is no HTML mail:
// berriz's messages are short, sober and must read well in any client.
type Message struct {
	To      string // one address, optionally with a display name: "Ane <ane@example.eus>"
	Subject string // UTF-8; encoded as needed
	Text    string // UTF-8 plain-text body; lines end with "\n"
}

// Delivery says what became of a message that was accepted without error.
type Delivery int

const (
	// Sent means an SMTP server accepted the message for delivery.
	Sent Delivery = iota + 1
	// Logged means the message was not delivered but written to the log
	// (no SMTP configured); the caller may show its content to an operator.
	Logged
)

func (d Delivery) String() string {
	switch d {
	case Sent:
		return "sent"
	case Logged:
		return "logged"
	}
	return fmt.Sprintf("Delivery(%d)", int(d))
}

// Sender sends one message. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) (Delivery, error)
}

// ErrInvalidMessage is wrapped by Send errors caused by the message itself
// (bad recipient address, line breaks in a header, invalid UTF-8), as opposed
// to transport failures, so callers can tell "fix the input" from "try later".
var ErrInvalidMessage = errors.New("invalid message")

// Values of Config.TLS.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which is required (port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no encryption: only for a relay on the loopback interface
)

// DefaultTimeout bounds one whole delivery (dial to QUIT) when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config selects and configures the transport. An empty Host selects the log
// sender; everything else is then ignored.
type Config struct {
	Host     string
	Port     int // 0: 587 for starttls, 465 for tls, 25 for none
	Username string
	Password string // secret
	// From is the sender address, optionally with a display name:
	// "berriz <no-reply@berriz.eus>".
	From string
	// TLS is "starttls" (default when empty), "tls" (implicit, port 465) or
	// "none" (only allowed for 127.0.0.1/localhost, for local relays).
	TLS     string
	Timeout time.Duration // 0: DefaultTimeout
	// RootCAs, when set, replaces the system roots to verify the server's
	// certificate: for private relays with their own CA, and for tests.
	RootCAs *x509.CertPool
}

// LogValue keeps the password out of logs when a Config is logged.
func (c Config) LogValue() slog.Value {
	pw := ""
	if c.Password != "" {
		pw = "[redacted]"
	}
	return slog.GroupValue(
		slog.String("host", c.Host), slog.Int("port", c.Port),
		slog.String("username", c.Username), slog.String("password", pw),
		slog.String("from", c.From), slog.String("tls", c.TLS),
		slog.Duration("timeout", c.Timeout),
	)
}

// New returns the log sender when cfg.Host is empty, otherwise an SMTP sender
// for cfg, after checking cfg. It does not connect: a wrong password or an
// unreachable server shows up at the first Send.
func New(cfg Config, log *slog.Logger) (Sender, error) {
	if log == nil {
		return nil, errors.New("mail: nil logger")
	}
	if cfg.Host == "" {
		return &logSender{log: log}, nil
	}
	if _, _, err := net.SplitHostPort(cfg.Host); err == nil || strings.ContainsAny(cfg.Host, " /") {
		return nil, fmt.Errorf("mail: SMTP host %q: give the host name alone, the port separately", cfg.Host)
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !isLoopback(cfg.Host) {
			return nil, fmt.Errorf("mail: SMTP TLS %q refused for %q: plain-text SMTP is only allowed to localhost", cfg.TLS, cfg.Host)
		}
	default:
		return nil, fmt.Errorf("mail: SMTP TLS %q: want %q, %q or %q", cfg.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	if cfg.Port == 0 {
		cfg.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[cfg.TLS]
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mail: SMTP port %d out of range", cfg.Port)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("mail: SMTP timeout %s is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("mail: SMTP password set without a username")
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP from address %q: %w", cfg.From, err)
	}
	return newSMTPSender(cfg, from), nil
}

// isLoopback accepts the names a local relay is reached by; no DNS lookup,
// so a name cannot be made to point elsewhere.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// check validates m for both senders, so that a message refused in production
// is refused in the local setup too, and returns the parsed recipient.
func (m Message) check() (*netmail.Address, error) {
	if strings.ContainsAny(m.To, "\r\n") {
		return nil, fmt.Errorf("mail: recipient contains a line break: %w", ErrInvalidMessage)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, fmt.Errorf("mail: subject contains a line break: %w", ErrInvalidMessage)
	}
	if !utf8.ValidString(m.Subject) || !utf8.ValidString(m.Text) {
		return nil, fmt.Errorf("mail: subject or text is not valid UTF-8: %w", ErrInvalidMessage)
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("mail: recipient %q is not a single address (%w): %w", m.To, err, ErrInvalidMessage)
	}
	return to, nil
}
