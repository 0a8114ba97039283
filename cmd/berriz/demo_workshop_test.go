package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
	"github.com/berriz/berriz/storage"
)

// checkDemoWorkshops checks the workshops' day of the demo: a device in
// every state, each with the records its state needs, the failed erasure,
// the stock, the recycling batches, and the blobs in the configured
// storage.
func checkDemoWorkshops(t *testing.T, db *postgres.DB, env func(string) string, stdout string) {
	t.Helper()
	ctx := context.Background()
	q := sqlCount(t, db)
	want := map[lifecycle.State]int{lifecycle.Received: 7, lifecycle.Diagnosed: 3, lifecycle.Wiped: 3,
		lifecycle.Refurbished: 3, lifecycle.Available: 2, lifecycle.Recycled: 2, lifecycle.Dismantled: 1}
	for st, n := range want {
		if got := q(`SELECT count(*) FROM devices WHERE state = $1`, string(st)); got != n {
			t.Errorf("%d devices %s, want %d", got, st, n)
		}
	}
	for _, line := range []string{"  received      7 (1 waiting in an open recycling batch)\n",
		"  diagnosed     3 (1 held back by a failed erasure verification)\n", "  wiped         3\n",
		"  refurbished   3\n", "  available     2\n", "  recycled      2\n", "  dismantled    1\n",
		"  6 parts in the spare-parts stock, 6 locations", "/workshop (dashboard), /scan (scan station), /stock (spare parts), /recycling"} {
		if !strings.Contains(stdout, line) {
			t.Errorf("output lacks %q:\n%s", line, stdout)
		}
	}

	// What each state needs is there, as the rules read it.
	if n := q(`SELECT count(*) FROM devices v WHERE state IN ('diagnosed', 'wiped', 'refurbished', 'available')
		AND NOT EXISTS (SELECT 1 FROM diagnoses g WHERE g.device_id = v.id AND g.complete)`); n != 0 {
		t.Errorf("%d devices past diagnosis without a complete diagnosis", n)
	}
	if n := q(`SELECT count(*) FROM devices WHERE state IN ('refurbished', 'available') AND (grade IS NULL OR os = '')`); n != 0 {
		t.Errorf("%d refurbished or available devices without a grade or an OS", n)
	}
	if n := q(`SELECT count(*) FROM devices WHERE grade IS NOT NULL AND grade <> grade_suggested AND grade_reason <> ''`); n != 1 {
		t.Errorf("%d devices graded against the suggestion with a reason, want 1", n)
	}
	// Five of the workshops' day, eleven on the laptops the allocation delivers.
	if n := q(`SELECT count(*) FROM repairs WHERE kind = 'os_install'`); n != 5+11 {
		t.Errorf("%d OS installs, want 16", n)
	}
	rows, err := db.SQL().QueryContext(ctx, `SELECT id, state FROM devices WHERE state <> 'declared'`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	states := map[int64]lifecycle.State{}
	for rows.Next() {
		var id int64
		var st lifecycle.State
		if err := rows.Scan(&id, &st); err != nil {
			t.Fatal(err)
		}
		ids, states[id] = append(ids, id), st
	}
	rows.Close()
	due := 0
	for _, id := range ids {
		st, facts, err := db.DeviceFacts(ctx, id, postgres.DonationScope{})
		if err != nil {
			t.Fatal(err)
		}
		if postgres.CertificateDue(st.State, facts) {
			due++
		}
		if facts.DrivesFailed > 0 && st.State != lifecycle.Diagnosed {
			t.Errorf("device %d with a failed erasure is %s", id, st.State)
		}
	}
	// Wiped, refurbished, available, recycled and dismantled: each is due
	// its erasure certificate, issued on first download; and the ten
	// laptops the allocation reserved or delivered, issued when wiped.
	if due != 11+10 {
		t.Errorf("%d devices due an erasure certificate, want 21", due)
	}
	if n := q(`SELECT count(*) FROM devices v WHERE EXISTS (SELECT 1 FROM erasures e WHERE e.device_id = v.id
		AND e.verification = 'failed' AND e.id = (SELECT max(id) FROM erasures WHERE device_id = v.id))`); n != 1 {
		t.Errorf("%d devices held back by a failed erasure, want 1", n)
	}

	// Stock: parts bought new, parts kept from the dismantled desktop, a
	// second-hand SSD and a new battery fitted.
	if n := q(`SELECT count(*) FROM stock_parts WHERE state = 'in_stock'`); n != 6 {
		t.Errorf("%d parts in stock, want 6", n)
	}
	if n := q(`SELECT count(*) FROM stock_parts WHERE condition = 'second_hand' AND source_device_id IS NOT NULL`); n != 2 {
		t.Errorf("%d parts kept from a dismantled device, want 2", n)
	}
	if n := q(`SELECT count(*) FROM device_parts p JOIN stock_parts s ON s.id = p.stock_part_id
		WHERE p.condition = 'second_hand' AND s.drive_type = 'ssd' AND p.drive_position = 2`); n != 1 {
		t.Errorf("%d second-hand SSDs fitted as a second drive, want 1", n)
	}
	if n := q(`SELECT count(*) FROM device_parts WHERE condition = 'new' AND kind = 'laptop_battery'`); n != 1 {
		t.Errorf("%d new batteries fitted, want 1", n)
	}

	// Locations and recycling batches.
	if n := q(`SELECT count(*) FROM locations`); n != 6 {
		t.Errorf("%d locations, want 6", n)
	}
	if n := q(`SELECT count(*) FROM devices WHERE location <> ''`); n < 10 {
		t.Errorf("%d devices on a location, want at least 10", n)
	}
	if n := q(`SELECT count(*) FROM devices v JOIN recycling_batches b ON b.id = v.recycling_batch_id WHERE b.state = 'open'`); n != 1 {
		t.Errorf("%d devices in an open batch, want 1", n)
	}

	// The blobs are in the configured storage, as recorded.
	files, err := storage.NewDisk(env("BERRIZ_STORAGE_DIR"))
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[string]string{} // key → sha256
	rows, err = db.SQL().QueryContext(ctx, `SELECT log_key, log_sha256 FROM erasures WHERE log_key IS NOT NULL
		UNION ALL SELECT certificate_key, certificate_sha256 FROM recycling_batches WHERE state = 'handed_over'
			AND recycler <> '' AND total_weight_kg > 0 AND certificate_ref <> ''`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var key, sum string
		if err := rows.Scan(&key, &sum); err != nil {
			t.Fatal(err)
		}
		blobs[key] = sum
	}
	rows.Close()
	if len(blobs) != 3 { // two wipe logs, one recycler's certificate
		t.Errorf("%d blobs recorded, want 3: %v", len(blobs), blobs)
	}
	for key, sum := range blobs {
		r, _, err := files.Get(ctx, key)
		if err != nil {
			t.Errorf("blob %s: %v", key, err)
			continue
		}
		data, _ := io.ReadAll(r)
		r.Close()
		if sha256Hex(data) != sum {
			t.Errorf("blob %s does not match its checksum", key)
		}
		if strings.HasSuffix(key, ".pdf") != bytes.HasPrefix(data, []byte("%PDF-")) {
			t.Errorf("blob %s starts with %q", key, data[:min(8, len(data))])
		}
	}
}

// The demo as a visitor sees it: the workshop pages answer a technician
// with the demo's content, and the erasure certificate of a demo device is
// issued on its first download (the demo leaves that to the server), after
// which every chain still verifies.
func TestDemoWorkshopInServer(t *testing.T) {
	env, dbURL := mustCommandEnv(t)
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"demo"}, env, &out, &errOut); err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut.String())
	}
	e := servertest.MustStart(t, servertest.Options{DatabaseURL: dbURL, Env: map[string]string{"BERRIZ_STORAGE_DIR": env("BERRIZ_STORAGE_DIR")}})
	signIn := func(local string) *servertest.Browser {
		b := e.Anonymous(t)
		b.Get("/login")
		resp, body := b.PostForm("/login", url.Values{"email": {local + "@" + demoDomain}, "password": {demoPassword}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in %s: %d\n%s", local, resp.StatusCode, body)
		}
		return b
	}
	tech := signIn("berriztu.tech")
	for path, want := range map[string]string{"/devices": `<strong class="field-error">Effacement échoué</strong>`,
		"/workshop": "Lenovo ThinkPad T470", "/scan/locations": "Banc de test", "/stock": "Crucial MX500",
		"/recycling": "<td>Ouvert</td><td>1</td>"} {
		resp, body := tech.Get(path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want %q in the page", path, resp.StatusCode, want)
		}
	}

	var wiped, erasure, batch int64
	q := func(dst *int64, query string) {
		t.Helper()
		if err := e.DB.SQL().QueryRowContext(ctx, query).Scan(dst); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	q(&wiped, `SELECT v.id FROM devices v JOIN donations d ON d.id = v.donation_id JOIN organisations o ON o.id = d.workshop_org_id
		WHERE v.state = 'wiped' AND o.name LIKE 'Atelier Berriztu%' ORDER BY v.id LIMIT 1`)
	q(&erasure, `SELECT e.id FROM erasures e JOIN donations d ON d.id = (SELECT donation_id FROM devices WHERE id = e.device_id)
		JOIN organisations o ON o.id = d.workshop_org_id WHERE e.log_key IS NOT NULL AND o.name LIKE 'Atelier Berriztu%'`)
	var device int64
	q(&device, `SELECT device_id FROM erasures WHERE id = `+strconv.FormatInt(erasure, 10))
	q(&batch, `SELECT id FROM recycling_batches WHERE state = 'handed_over'`)

	cert := "/devices/" + strconv.FormatInt(wiped, 10) + "/certificate.pdf"
	resp, body := tech.Get(cert)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "%PDF-") {
		t.Fatalf("GET %s: %d %q", cert, resp.StatusCode, body[:min(40, len(body))])
	}
	etag := resp.Header.Get("ETag")
	if resp, _ := tech.Get(cert); resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != etag {
		t.Errorf("second download: %d, ETag %q then %q (issued again?)", resp.StatusCode, etag, resp.Header.Get("ETag"))
	}
	var certs int64
	q(&certs, `SELECT count(*) FROM erasure_certificates WHERE device_id = `+strconv.FormatInt(wiped, 10))
	if certs != 1 {
		t.Errorf("%d certificates of device %d, want 1", certs, wiped)
	}

	log := "/devices/" + strconv.FormatInt(device, 10) + "/erasures/" + strconv.FormatInt(erasure, 10) + "/log"
	if resp, body := tech.Get(log); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Verified that /dev/sda is empty") {
		t.Errorf("GET %s: %d %q", log, resp.StatusCode, body)
	}
	admin := signIn("hendaye.admin")
	recycled := "/recycling/" + strconv.FormatInt(batch, 10) + "/certificate"
	if resp, body := admin.Get(recycled); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "%PDF-") {
		t.Errorf("GET %s: %d", recycled, resp.StatusCode)
	}

	out.Reset()
	if err := run(ctx, []string{"audit", "verify"}, env, &out, &errOut); err != nil ||
		!strings.Contains(out.String(), "; 0 broken chains;") {
		t.Errorf("audit after the download: %v %q", err, out.String())
	}
}
