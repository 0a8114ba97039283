package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/storage"
)

// The allocation's lot validates as a donation form would and belongs to a
// donor and a workshop of the territory.
func TestDemoAllocationLot(t *testing.T) {
	orgs := map[string]account.OrgKind{}
	for _, d := range demoTerritory() {
		orgs[d.Key] = d.Kind
	}
	dd := demoAllocationLot()
	if orgs[dd.Donor].Role() != account.RoleDonor || orgs[dd.Workshop] != account.KindWorkshop || !dd.Collected {
		t.Errorf("lot: donor %s, workshop %s, collected %v", dd.Donor, dd.Workshop, dd.Collected)
	}
	n := 0
	for i, l := range dd.Lines {
		if err := l.Validate(time.Now()); err != nil {
			t.Errorf("line %d: %v", i+1, err)
		}
		if _, ok := co2.CategoryByID(l.Category); !ok || l.Category != "laptop" {
			t.Errorf("line %d: category %s", i+1, l.Category)
		}
		n += l.Quantity
	}
	if n != dd.Intake {
		t.Errorf("%d laptops, %d received: the demo publishes them all", n, dd.Intake)
	}
	for _, dx := range demoDonations() {
		if dx.Key == dd.Key {
			t.Errorf("key %s twice", dd.Key)
		}
	}
}

// checkDemoAllocation checks the allocation the demo left: requests in
// every state, a sent proposal waiting for its answers, accepted
// reservations, a handover to confirm, confirmed ones (some answering the
// question), a return, and the receipts and certificates in the storage.
func checkDemoAllocation(t *testing.T, db *postgres.DB, env func(string) string, stdout string) {
	t.Helper()
	ctx := context.Background()
	q := sqlCount(t, db)
	counts := func(query string, want map[string]int) {
		t.Helper()
		rows, err := db.SQL().QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			got[k] = n
		}
		rows.Close()
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Errorf("%s: %d %s, want %d", query, got[k], k, n)
			}
		}
	}

	counts(`SELECT state, count(*) FROM requests GROUP BY state`, map[string]int{"submitted": 1, "approved": 1,
		"partially_fulfilled": 1, "fulfilled": 1, "declined": 1, "cancelled": 1})
	if n := q(`SELECT count(*) FROM requests WHERE state = 'declined' AND length(decision_reason) > 20`); n != 1 {
		t.Errorf("%d requests declined with a reason, want 1", n)
	}
	if n := q(`SELECT count(*) FROM request_events WHERE to_state = 'cancelled' AND reason <> ''
		AND actor_org_id = (SELECT beneficiary_org_id FROM requests WHERE id = request_id)`); n != 1 {
		t.Errorf("%d requests cancelled by their beneficiary with a reason, want 1", n)
	}
	counts(`SELECT state, count(*) FROM proposals GROUP BY state`, map[string]int{"sent": 2})
	counts(`SELECT state, count(*) FROM reservations GROUP BY state`, map[string]int{"reserved": 4, "accepted": 2,
		"delivered": 5, "declined": 1})
	// The second proposal's four devices wait for their answer, until the
	// configured holding time is over; the approved request has three.
	if n := q(`SELECT count(*) FROM reservations r JOIN proposals p ON p.id = r.proposal_id WHERE r.state = 'reserved'
		AND r.expires_at > now() + interval '6 days' AND p.id = (SELECT max(id) FROM proposals)`); n != 4 {
		t.Errorf("%d reservations of the last proposal waiting for an answer, want 4", n)
	}
	if n := q(`SELECT count(*) FROM reservations r JOIN request_lines l ON l.id = r.request_line_id
		JOIN requests q ON q.id = l.request_id WHERE q.state = 'approved' AND r.state = 'reserved'`); n != 3 {
		t.Errorf("%d devices reserved for the approved request, want 3", n)
	}
	if n := q(`SELECT count(*) FROM reservations WHERE state = 'accepted' AND handover_id IS NULL`); n != 1 {
		t.Errorf("%d accepted reservations waiting for a handover, want 1", n)
	}
	counts(`SELECT state, count(*) FROM handovers GROUP BY state`, map[string]int{"prepared": 1, "confirmed": 3})
	if n := q(`SELECT count(*) FROM handovers WHERE state = 'confirmed' AND answer IS NOT NULL`); n != 2 {
		t.Errorf("%d confirmed handovers with an answer, want 2", n)
	}
	if n := q(`SELECT count(*) FROM return_requests`); n != 1 {
		t.Errorf("%d return requests, want 1", n)
	}
	// The lot's laptops: reserved, delivered, one returned (a new cycle).
	counts(`SELECT v.state, count(*) FROM devices v JOIN donations d ON d.id = v.donation_id
		WHERE d.title = 'Ordinateurs portables des services municipaux' GROUP BY v.state`,
		map[string]int{"reserved": 6, "delivered": 4, "returned": 1})
	if n := q(`SELECT count(*) FROM devices WHERE state = 'returned' AND cycle = 2`); n != 1 {
		t.Errorf("%d devices back for a second cycle, want 1", n)
	}

	// Receipts and erasure certificates are in the configured storage, as
	// recorded.
	files, err := storage.NewDisk(env("BERRIZ_STORAGE_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.SQL().QueryContext(ctx, `SELECT receipt_key, receipt_sha256 FROM handovers
		UNION ALL SELECT storage_key, sha256 FROM erasure_certificates`)
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[string]string{}
	for rows.Next() {
		var key, sum string
		if err := rows.Scan(&key, &sum); err != nil {
			t.Fatal(err)
		}
		blobs[key] = sum
	}
	rows.Close()
	if len(blobs) != 4+11 {
		t.Errorf("%d receipts and certificates recorded, want 15", len(blobs))
	}
	for key, sum := range blobs {
		r, _, err := files.Get(ctx, key)
		if err != nil {
			t.Errorf("blob %s: %v", key, err)
			continue
		}
		data, _ := io.ReadAll(r)
		r.Close()
		if sha256Hex(data) != sum || !bytes.HasPrefix(data, []byte("%PDF-")) {
			t.Errorf("blob %s is not the PDF recorded", key)
		}
	}

	for _, line := range []string{"  requests: 1 submitted, 1 approved, 1 partially_fulfilled, 1 fulfilled, 1 declined, 1 cancelled\n",
		"  2 proposals sent: 4 devices waiting for the beneficiary's answer until ", ", 2 accepted\n",
		"  handovers: 1 prepared, 3 confirmed (5 devices delivered, 2 answers to \"without this donation...\"), 1 device returned\n",
		"Where to look: /requests, /proposals, /reservations"} {
		if !strings.Contains(stdout, line) {
			t.Errorf("output lacks %q:\n%s", line, stdout)
		}
	}
}
