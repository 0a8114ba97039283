package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
)

// mustWipedErased takes a received device with two drives to wiped: both drives
// erased and verified, the first with a log.
func mustWipedErased(t *testing.T, f intakeFixture, id int64) {
	t.Helper()
	ctx := context.Background()
	for _, in := range []postgres.NewErasure{nwipeRun(1, "WD-1", erasure.Passed, "b"), nwipeRun(2, "SSD-2", erasure.Passed, "")} {
		if _, err := f.db.RecordErasure(ctx, id, postgres.DonationScope{}, in, f.tech); err != nil {
			t.Fatal(err)
		}
	}
	mustDiagnosis(t, f.db, id, true)
	for _, to := range []string{"diagnosed", "wiped"} {
		if _, err := f.db.TransitionDevice(ctx, id, postgres.DonationScope{}, postgres.Transition{To: lifecycle.State(to)}, f.tech); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeBlob stands for the server's renderer: it records what it was given
// and counts its calls.
type fakeBlob struct {
	calls   atomic.Int32
	content erasure.Certificate
	token   string
	mu      sync.Mutex
	fail    error
}

func (b *fakeBlob) render(c erasure.Certificate, token string) (postgres.CertificateBlob, error) {
	n := b.calls.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return postgres.CertificateBlob{}, b.fail
	}
	b.content, b.token = c, token
	return postgres.CertificateBlob{Key: fmt.Sprintf("devices/%d/certificates/%d.pdf", c.Device.ID, n), Size: 1234,
		SHA256: strings.Repeat("c", 64)}, nil
}

var numberRE = regexp.MustCompile(`^BRZ-E-20[0-9]{2}-[0-9]{6}$`)

// A certificate is issued once per cycle, with the facts of every drive,
// found again by its token, recorded as an event; a device not due gets
// none, and a renderer's failure leaves nothing behind.
func TestIssueErasureCertificate(t *testing.T) {
	f, id := mustReceived(t)
	ctx := context.Background()
	scope := postgres.DonationScope{WorkshopOrgID: f.shop.ID}
	b := &fakeBlob{}
	_, _, err := f.db.IssueErasureCertificate(ctx, id, scope, "fr", f.tech, b.render)
	wantKind(t, "received", err, berriz.Conflict, "erasure.error.certificate_not_due")
	mustWipedErased(t, f, id)

	b.fail = errors.New("storage down")
	if _, _, err := f.db.IssueErasureCertificate(ctx, id, scope, "fr", f.tech, b.render); err == nil || !errors.Is(err, b.fail) {
		t.Fatalf("renderer failure: %v", err)
	}
	if certs, _ := f.db.DeviceCertificates(ctx, id); len(certs) != 0 {
		t.Fatalf("a certificate after a failure: %+v", certs)
	}
	b.fail = nil
	cert, issued, err := f.db.IssueErasureCertificate(ctx, id, scope, "eu", f.tech, b.render)
	if err != nil || !issued {
		t.Fatalf("issue: %v %v", issued, err)
	}
	c := b.content
	if !numberRE.MatchString(cert.Number) || c.Number != cert.Number || cert.Token != b.token || len(cert.Token) != 32 ||
		cert.SHA256 != strings.Repeat("c", 64) || cert.Cycle != 1 || c.Lang != "eu" || c.Device.Brand != "Dell" ||
		c.Donor != "Mairie de Bayonne" || c.Donation.Title != "Lot" || c.Workshop != "Atelier" || c.Tag == "" || !strings.Contains(c.Tag, "-") {
		t.Fatalf("certificate %+v\ncontent %+v", cert, c)
	}
	if len(c.Drives) != 2 || c.Drives[0].Drive.Serial != "WD-1" || c.Drives[0].LogSHA256 != strings.Repeat("b", 64) ||
		c.Drives[1].LogSHA256 != "" || c.Drives[1].Technician != "tech@atelier.example" || c.Drives[1].Verification != erasure.Passed {
		t.Fatalf("drives %+v", c.Drives)
	}
	// Asked again: the same certificate, nothing rendered.
	calls := b.calls.Load()
	again, issued, err := f.db.IssueErasureCertificate(ctx, id, postgres.DonationScope{DonorOrgID: f.donor.ID}, "fr", nil, b.render)
	if err != nil || issued || again.Number != cert.Number || b.calls.Load() != calls {
		t.Fatalf("again: %+v %v %v", again, issued, err)
	}
	byToken, err := f.db.CertificateByToken(ctx, cert.Token)
	if err != nil || byToken.ID != cert.ID || byToken.Content.Drives[0].ErasureID == 0 || byToken.Content.Number != cert.Number {
		t.Fatalf("by token: %+v %v", byToken, err)
	}
	for _, tok := range []string{"short", strings.Repeat("x", 32), "../../etc/passwd"} {
		_, err := f.db.CertificateByToken(ctx, tok)
		wantKind(t, "token "+tok, err, berriz.NotFound, "erasure.error.certificate_unknown")
	}
	_, _, err = f.db.IssueErasureCertificate(ctx, id, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}, "fr", f.tech, b.render)
	wantKind(t, "other workshop", err, berriz.NotFound, "device.error.not_found")
	events, _, _ := f.db.DeviceEvents(ctx, id, 1)
	if e := events[0]; e.Kind != postgres.EventCertified || e.Note != cert.Number || !strings.Contains(e.Detail, cert.SHA256) {
		t.Fatalf("event %+v", e)
	}

	// A new cycle keeps the old certificate and is not due until wiped.
	mustExec(t, f.db, `UPDATE devices SET state = 'delivered' WHERE id = $1`, id)
	if _, err := f.db.TransitionDevice(ctx, id, scope, postgres.Transition{To: "returned"}, f.tech); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.db.IssueErasureCertificate(ctx, id, scope, "fr", f.tech, b.render)
	wantKind(t, "returned", err, berriz.Conflict, "erasure.error.certificate_not_due")
	if certs, err := f.db.DeviceCertificates(ctx, id); err != nil || len(certs) != 1 || certs[0].Cycle != 1 {
		t.Fatalf("certificates: %+v %v", certs, err)
	}
	if rep, err := f.db.VerifyEventChains(ctx); err != nil || len(rep.Breaks) != 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
}

// Twenty requests at once on a device due its certificate: one issues it,
// every one gets the same certificate, the renderer runs once.
func TestConcurrentCertificateIssuedOnce(t *testing.T) {
	f, id := mustReceived(t)
	mustWipedErased(t, f, id)
	ctx := context.Background()
	b := &fakeBlob{}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		numbers = map[string]int{}
		issued  int
	)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, is, err := f.db.IssueErasureCertificate(ctx, id, postgres.DonationScope{}, "fr", f.tech, b.render)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("issue: %v", err)
				return
			}
			numbers[c.Number]++
			if is {
				issued++
			}
		}()
	}
	wg.Wait()
	if len(numbers) != 1 || issued != 1 || b.calls.Load() != 1 {
		t.Fatalf("numbers %v, %d issued, %d renders", numbers, issued, b.calls.Load())
	}
	var n int
	if err := f.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM erasure_certificates WHERE device_id = $1`, id).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d certificates, %v", n, err)
	}
}

// A device without storage is certified too: nothing to erase.
func TestCertificateWithoutDrives(t *testing.T) {
	f := mustIntakeFixture(t, 1)
	ctx := context.Background()
	id := f.devices[0].ID
	if _, err := f.db.IntakeDevice(ctx, f.codes[0], id, f.shop.ID, f.tech, time.Now()); err != nil {
		t.Fatal(err)
	}
	mustDiagnosis(t, f.db, id, true)
	for _, to := range []string{"diagnosed", "wiped"} {
		if _, err := f.db.TransitionDevice(ctx, id, postgres.DonationScope{}, postgres.Transition{To: lifecycle.State(to)}, f.tech); err != nil {
			t.Fatal(err)
		}
	}
	b := &fakeBlob{}
	if _, issued, err := f.db.IssueErasureCertificate(ctx, id, postgres.DonationScope{}, "fr", f.tech, b.render); err != nil || !issued ||
		len(b.content.Drives) != 0 {
		t.Fatalf("%v %v %+v", issued, err, b.content)
	}
}
