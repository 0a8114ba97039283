package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/mail"
	"github.com/berriz/berriz/internal/server"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/emersion/go-smtp"
)

// What the digest tests share: a real SMTP server, a clock they move, and
// instances of berriz that mail through it.

// digestMail is one message as the real SMTP server (go-smtp) received it,
// decoded.
type digestMail struct {
	to, subject, text string
}

// digestSMTP is a real SMTP server on the loopback that keeps what it gets.
type digestSMTP struct {
	mu   sync.Mutex
	msgs []digestMail
	port int
}

func (s *digestSMTP) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &digestSMTPSession{sink: s}, nil
}

func (s *digestSMTP) mails() []digestMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]digestMail(nil), s.msgs...)
}

type digestSMTPSession struct {
	sink *digestSMTP
	to   string
}

func (s *digestSMTPSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *digestSMTPSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}
func (s *digestSMTPSession) Data(r io.Reader) error {
	msg, err := netmail.ReadMessage(r)
	if err != nil {
		return err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, digestMail{to: s.to, subject: subject,
		text: strings.ReplaceAll(string(body), "\r\n", "\n")})
	s.sink.mu.Unlock()
	return nil
}
func (s *digestSMTPSession) Reset()        {}
func (s *digestSMTPSession) Logout() error { return nil }

func mustDigestSMTP(t *testing.T) *digestSMTP {
	t.Helper()
	sink := &digestSMTP{}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sink
}

// digestClock is a clock the test moves.
type digestClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *digestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *digestClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var digestParis = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

// digestEnv is a test server whose public URL is a real site's, and
// another instance of berriz on the same database that mails through SMTP
// on port (the servertest server writes mail to the log).
type digestEnv struct {
	*servertest.Env
	clock *digestClock
	logs  *servertest.LogBuffer
}

func mustDigestEnv(t *testing.T) *digestEnv {
	t.Helper()
	clock := &digestClock{now: time.Date(2026, 5, 14, 6, 59, 0, 0, digestParis)}
	env := servertest.MustStart(t, servertest.Options{Clock: clock.Now,
		Env: map[string]string{"BERRIZ_PUBLIC_URL": "https://berriz.example.eus", "BERRIZ_DIGEST_HOUR": "7"}})
	return &digestEnv{Env: env, clock: clock, logs: &servertest.LogBuffer{}}
}

// instance starts another berriz instance on the same database, mailing
// through the SMTP server on port.
func (e *digestEnv) instance(t *testing.T, port int) *server.Server {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := mail.New(mail.Config{Host: "127.0.0.1", Port: port, TLS: mail.TLSNone, From: "berriz <no-reply@berriz.example.eus>",
		Timeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Deps{Config: e.Config, Logger: log, Store: e.DB, Files: e.Store, Mailer: m, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// notify writes a notification for every member of an organisation with
// e-mails on, as the areas' notifyOrg does inside their transactions.
func (e *digestEnv) notify(t *testing.T, orgID int64, kind, link string, args map[string]string) {
	t.Helper()
	raw, _ := json.Marshal(args)
	if _, err := e.DB.SQL().ExecContext(context.Background(), `INSERT INTO notifications (user_id, kind, args, link, created_at)
		SELECT u.id, $1, $2::jsonb, $3, $4 FROM users u JOIN organisations o ON o.id = u.organisation_id
		WHERE o.active AND u.notify_email AND u.organisation_id = $5`, kind, string(raw), link, e.clock.Now(), orgID); err != nil {
		t.Fatalf("notify: %v", err)
	}
}

func (e *digestEnv) pending(t *testing.T, userID int64) int {
	t.Helper()
	s, err := e.DB.NotificationSettings(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return s.Pending
}

func digestMailsTo(ms []digestMail, addr string) []digestMail {
	var out []digestMail
	for _, m := range ms {
		if m.to == addr {
			out = append(out, m)
		}
	}
	return out
}
