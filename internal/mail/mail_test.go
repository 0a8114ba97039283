package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const (
	subject = "Invitation à rejoindre berriz — Gonbidapena"
	link    = "https://berriz.example.eus/invitations/accept?token=" +
		"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789"
	text = "Bonjour Ane,\n\nVous êtes invitée à rejoindre berriz :\n" + link +
		"\n\n. une ligne qui commence par un point\nKaixo, ongi etorri!\n"
)

// received is one message as the real SMTP server (go-smtp) got it.
type received struct {
	from, user string
	rcpts      []string
	data       []byte
}

// backend records delivered messages; with user set, it requires AUTH PLAIN.
type backend struct {
	user, pass string
	mu         sync.Mutex
	msgs       []received
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

func (b *backend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type session struct {
	b   *backend
	cur received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if s.b.user == "" || user != s.b.user || pass != s.b.pass {
			return errors.New("invalid credentials")
		}
		s.cur.user = user
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.user != "" && s.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.rcpts = append(s.cur.rcpts, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = received{user: s.cur.user} }
func (s *session) Logout() error { return nil }

// server describes the SMTP server a test case starts.
type server struct {
	starttls bool   // offer STARTTLS with the test certificate
	implicit bool   // TLS from the first byte
	user     string // require AUTH PLAIN as user / "secret"
}

// mustServe starts a go-smtp server on 127.0.0.1:0 and returns its port.
func mustServe(t *testing.T, sv server, cert tls.Certificate) (*backend, int) {
	t.Helper()
	be := &backend{user: sv.user, pass: "secret"}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if sv.starttls {
		srv.TLSConfig = tlsCfg
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if sv.implicit {
		l = tls.NewListener(l, tlsCfg)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return be, port
}

// mustCert makes a self-signed certificate for 127.0.0.1 and a pool trusting it.
func mustCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func mustNew(t *testing.T, cfg Config) Sender {
	t.Helper()
	s, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestSMTPSend(t *testing.T) {
	cert, pool := mustCert(t)
	tests := []struct {
		name    string
		server  server
		cfg     Config // Host, Port and From are filled in
		msg     Message
		wantErr string // empty: delivered
	}{
		{name: "none to localhost", cfg: Config{TLS: TLSNone}},
		{name: "starttls", server: server{starttls: true}, cfg: Config{RootCAs: pool}},
		{name: "implicit tls", server: server{implicit: true}, cfg: Config{TLS: TLSImplicit, RootCAs: pool}},
		{name: "starttls and auth", server: server{starttls: true, user: "berriz"},
			cfg: Config{RootCAs: pool, Username: "berriz", Password: "secret"}},
		{name: "wrong password", server: server{starttls: true, user: "berriz"},
			cfg: Config{RootCAs: pool, Username: "berriz", Password: "wrong"}, wantErr: "auth"},
		{name: "no starttls offered", cfg: Config{TLS: TLSStartTLS}, wantErr: "starttls"},
		{name: "untrusted certificate", server: server{starttls: true}, wantErr: "starttls"},
		{name: "line feed in to", cfg: Config{TLS: TLSNone},
			msg: Message{To: "ane@example.eus\nBcc: all@example.eus"}, wantErr: "line break"},
		{name: "carriage return in subject", cfg: Config{TLS: TLSNone},
			msg: Message{Subject: "Salut\r\nBcc: all@example.eus"}, wantErr: "line break"},
		{name: "two recipients", cfg: Config{TLS: TLSNone},
			msg: Message{To: "ane@example.eus, jon@example.eus"}, wantErr: "single address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be, port := mustServe(t, tt.server, cert)
			cfg := tt.cfg
			cfg.Host, cfg.Port, cfg.From = "127.0.0.1", port, "berriz <no-reply@berriz.eus>"
			cfg.Timeout = 10 * time.Second
			msg := Message{To: "Ane Etxeberria <ane@example.eus>", Subject: subject, Text: text}
			if tt.msg.To != "" {
				msg.To = tt.msg.To
			}
			if tt.msg.Subject != "" {
				msg.Subject = tt.msg.Subject
			}
			s := mustNew(t, cfg)
			s.(*smtpSender).now = func() time.Time { return time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC) }

			d, err := s.Send(t.Context(), msg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Send: err = %v, want one mentioning %q", err, tt.wantErr)
				}
				if n := len(be.messages()); n != 0 {
					t.Fatalf("server received %d messages, want none", n)
				}
				return
			}
			if err != nil || d != Sent {
				t.Fatalf("Send = %v, %v; want Sent", d, err)
			}
			msgs := be.messages()
			if len(msgs) != 1 {
				t.Fatalf("server received %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			if got.from != "no-reply@berriz.eus" || len(got.rcpts) != 1 || got.rcpts[0] != "ane@example.eus" {
				t.Errorf("envelope = %q → %q", got.from, got.rcpts)
			}
			if got.user != tt.server.user {
				t.Errorf("authenticated as %q, want %q", got.user, tt.server.user)
			}
			checkMessage(t, got.data)
		})
	}
}

// checkMessage parses what the server received as a reader would.
func checkMessage(t *testing.T, data []byte) {
	t.Helper()
	for i, line := range strings.Split(string(data), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line %d is %d characters long: %q", i+1, len(line), line)
		}
	}
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, data)
	}
	var dec mime.WordDecoder
	gotSubject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil || gotSubject != subject {
		t.Errorf("Subject = %q (%v), want %q", gotSubject, err, subject)
	}
	if id := m.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@berriz.eus>") {
		t.Errorf("Message-ID = %q", id)
	}
	for k, want := range map[string]string{
		"From":                      `"berriz" <no-reply@berriz.eus>`,
		"To":                        `"Ane Etxeberria" <ane@example.eus>`,
		"Date":                      "Sun, 01 Mar 2026 09:30:00 +0000",
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"Auto-Submitted":            "auto-generated",
	} {
		if got := m.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatalf("decode body: %v", err)
	}
	if want := strings.ReplaceAll(text, "\n", "\r\n"); string(body) != want {
		t.Errorf("body = %q, want %q", body, want)
	}
}

func TestNewRefuses(t *testing.T) {
	from := "no-reply@berriz.eus"
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"plain text to a remote host", Config{Host: "smtp.example.org", TLS: TLSNone, From: from}, "only allowed to localhost"},
		{"plain text to a private address", Config{Host: "10.0.0.5", TLS: TLSNone, From: from}, "only allowed to localhost"},
		{"unknown tls mode", Config{Host: "smtp.example.org", TLS: "ssl", From: from}, "want"},
		{"bad from", Config{Host: "smtp.example.org", From: "berriz"}, "from address"},
		{"port in host", Config{Host: "smtp.example.org:587", From: from}, "port separately"},
		{"port out of range", Config{Host: "smtp.example.org", Port: 70000, From: from}, "out of range"},
		{"password without user", Config{Host: "smtp.example.org", Password: "x", From: from}, "username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestSMTPTimeout(t *testing.T) {
	// A listener that accepts and never speaks: the client waits for a greeting.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	port := l.Addr().(*net.TCPAddr).Port

	for _, tt := range []struct {
		name           string
		cfgTimeout     time.Duration
		ctxTimeout     time.Duration
		wantReturnedIn time.Duration
	}{
		{"config timeout", 200 * time.Millisecond, time.Minute, 2 * time.Second},
		{"context deadline", time.Minute, 200 * time.Millisecond, 2 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, Config{Host: "localhost", Port: port, TLS: TLSNone, From: "no-reply@berriz.eus", Timeout: tt.cfgTimeout})
			ctx, cancel := context.WithTimeout(t.Context(), tt.ctxTimeout)
			defer cancel()
			start := time.Now()
			_, err := s.Send(ctx, Message{To: "ane@example.eus", Subject: "x", Text: "x"})
			if elapsed := time.Since(start); elapsed > tt.wantReturnedIn {
				t.Errorf("Send returned after %s", elapsed)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Send: err = %v, want one wrapping context.DeadlineExceeded", err)
			}
		})
	}
}

func TestLogSender(t *testing.T) {
	var buf bytes.Buffer
	s, err := New(Config{}, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Send(t.Context(), Message{To: "ane@example.eus", Subject: subject, Text: text})
	if err != nil || d != Logged {
		t.Fatalf("Send = %v, %v; want Logged", d, err)
	}
	out := buf.String()
	for _, want := range []string{`"level":"INFO"`, "mail not sent (no SMTP configured)", "ane@example.eus", subject, link} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if _, err := s.Send(t.Context(), Message{To: "ane@example.eus", Subject: "a\nb"}); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("Send with a line break in the subject: err = %v, want ErrInvalidMessage", err)
	}
	if got := Logged.String(); got != "logged" {
		t.Errorf("Logged.String() = %q", got)
	}
}
