package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// smtpSender delivers each message over its own SMTP connection: volumes are
// small, and a fresh connection has no idle state to go stale.
type smtpSender struct {
	cfg    Config // checked and defaulted by New
	from   *netmail.Address
	domain string           // right-hand side of Message-IDs
	now    func() time.Time // injectable for tests
}

func newSMTPSender(cfg Config, from *netmail.Address) *smtpSender {
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	return &smtpSender{cfg: cfg, from: from, domain: domain, now: time.Now}
}

func (s *smtpSender) Send(ctx context.Context, m Message) (Delivery, error) {
	to, err := m.check()
	if err != nil {
		return 0, err
	}
	msg, err := s.compose(to, m)
	if err != nil {
		return 0, err
	}
	if err := s.deliver(ctx, to.Address, msg); err != nil {
		return 0, err
	}
	return Sent, nil
}

// compose builds the RFC 5322 message: CRLF line endings, ASCII headers
// (non-ASCII subject and display names as RFC 2047 encoded-words), and a
// quoted-printable body so that long links survive servers' line limits.
func (s *smtpSender) compose(to *netmail.Address, m Message) ([]byte, error) {
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteString("\r\n")
	}
	header("From", s.from.String())
	header("To", to.String())
	header("Subject", encodeSubject(m.Subject))
	header("Date", s.now().Format(time.RFC1123Z))
	header("Message-ID", "<"+rand.Text()+"@"+s.domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	// Asks vacation responders and the like not to answer (RFC 3834).
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")

	// Not Binary: the writer turns "\n" and "\r\n" into CRLF line breaks.
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(m.Text)); err != nil {
		return nil, fmt.Errorf("mail: encode body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("mail: encode body: %w", err)
	}
	return b.Bytes(), nil
}

// encodeSubject Q-encodes a subject that needs it and folds the encoded-words
// one per line, keeping header lines short; decoders drop the whitespace
// between adjacent encoded-words, so the text round-trips exactly.
func encodeSubject(subject string) string {
	enc := mime.QEncoding.Encode("utf-8", subject)
	if enc == subject {
		return subject
	}
	// Encoded-words contain no spaces (Q-encoding writes them as "_"), so
	// "?= =?" only ever occurs between two words.
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// deliver runs one SMTP transaction within the timeout. net/smtp has no
// context support: when the context ends (timeout, deadline or cancellation),
// the connection's deadline is moved to the past, which interrupts whatever
// read or write is blocked.
func (s *smtpSender) deliver(ctx context.Context, rcpt string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	conn, err := s.dial(ctx, addr)
	if err != nil {
		return stepError(ctx, "dial "+addr, err)
	}
	// Only the context moves the deadline, so that by the time a read fails
	// ctx.Err() says why.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		_ = conn.Close()
		return stepError(ctx, "greeting from "+addr, err)
	}
	defer c.Close() // after Quit this only closes an already closed connection

	if err := c.Hello("localhost"); err != nil {
		return stepError(ctx, "ehlo", err)
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("mail: starttls: %s does not offer STARTTLS, refusing to send in plain text", addr)
		}
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return stepError(ctx, "starttls", err)
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("mail: auth: %s does not offer AUTH", addr)
		}
		// PlainAuth itself refuses to send the password unencrypted to
		// anything but localhost.
		auth := smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)
		if err := c.Auth(auth); err != nil {
			return stepError(ctx, "auth as "+s.cfg.Username, err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return stepError(ctx, "mail from", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return stepError(ctx, "rcpt", err)
	}
	w, err := c.Data()
	if err != nil {
		return stepError(ctx, "data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return stepError(ctx, "data", err)
	}
	// Close ends DATA and reads the server's verdict on the message.
	if err := w.Close(); err != nil {
		return stepError(ctx, "data", err)
	}
	// The message is accepted; a failed QUIT changes nothing for the caller.
	_ = c.Quit()
	return nil
}

func (s *smtpSender) dial(ctx context.Context, addr string) (net.Conn, error) {
	if s.cfg.TLS == TLSImplicit {
		d := &tls.Dialer{Config: s.tlsConfig()}
		return d.DialContext(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func (s *smtpSender) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName: s.cfg.Host,
		RootCAs:    s.cfg.RootCAs,
		MinVersion: tls.VersionTLS12,
	}
}

// stepError names the failed step and, when the context ended, wraps the
// context's error too, so that errors.Is(err, context.DeadlineExceeded) holds
// rather than the bare "i/o timeout" of the interrupted read.
func stepError(ctx context.Context, step string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("mail: %s: %w: %w", step, ctxErr, err)
	}
	return fmt.Errorf("mail: %s: %w", step, err)
}
