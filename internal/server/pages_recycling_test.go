package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/server/servertest"
)

var testCertPDF = []byte("%PDF-1.7\n% certificate of treatment, BSD-2026-42\n%%EOF\n")

// handoverForm posts the handover form (fields and the certificate file)
// with the remembered CSRF token; headers add to it (Accept, say).
func handoverForm(t *testing.T, b *servertest.Browser, path string, fields url.Values, cert []byte, headers ...string) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if b.Bearer == "" {
		_ = w.WriteField("csrf", b.CSRF)
	}
	for k, vs := range fields {
		for _, v := range vs {
			_ = w.WriteField(k, v)
		}
	}
	if cert != nil {
		fw, _ := w.CreateFormFile("certificate", "bsd 2026-42.pdf")
		_, _ = fw.Write(cert)
	}
	_ = w.Close()
	return b.Do(http.MethodPost, path, &buf, append([]string{"Content-Type", w.FormDataContentType()}, headers...)...)
}

func validHandover() url.Values {
	return url.Values{"recycler": {"Ecologic Sud-Ouest"}, "handed_over_on": {time.Now().Format("2006-01-02")},
		"total_weight_kg": {"5,7"}, "certificate_ref": {"BSD-2026-42"}}
}

// storedBlobs lists the files the disk storage holds under dir.
func storedBlobs(t *testing.T, env *servertest.Env, dir string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(env.Config.StorageDir, dir)
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// recyclingFixture: the scan fixture's three laptops received, the third
// with a drive not erased.
func mustRecyclingFixture(t *testing.T) (scanFixture, []int64) {
	t.Helper()
	f := mustScanFixture(t)
	f.mustHeldAtStation(t)
	ids := []int64{f.devices[0].ID, f.devices[1].ID, f.devices[2].ID}
	mustSQL(t, f.env, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES ($1, 1, 'hdd', 500, 'WD-1')`, ids[2])
	mustSQL(t, f.env, `UPDATE devices SET storage_drives = 1 WHERE id = $1`, ids[2])
	return f, ids
}

var batchLinkRE = regexp.MustCompile(`href="/recycling/(\d+)"`)

// A whole batch through the pages: three devices sent to recycling, one
// refused because a drive is not erased, the handover form refused with
// its errors, then handed over with the recycler's certificate: two devices
// recycled, their events in the chain, the certificate downloadable.
func TestRecyclingPagesFlow(t *testing.T) {
	f, ids := mustRecyclingFixture(t)
	ctx := context.Background()
	for _, id := range ids {
		resp, body := f.tech.Get(devicePath(id, "/recycling"))
		adminWantStatus(t, "recycling page", resp, body, http.StatusOK)
		if id == ids[2] {
			mustContain(t, "refused", body, "ne peut pas être recyclé pour l&#39;instant", "1 disque(s) sans effacement vérifié")
			resp, body = f.tech.PostForm(devicePath(id, "/recycling"), nil)
			adminWantStatus(t, "add refused", resp, body, http.StatusConflict)
			mustContain(t, "add refused", body, "1 disque(s) sans effacement vérifié")
			continue
		}
		mustContain(t, "can join", body, "peut être recyclé", `action="`+devicePath(id, "/recycling")+`"`)
		resp, body = f.tech.PostForm(devicePath(id, "/recycling"), nil)
		wantRedirect(t, "add", resp, body, devicePath(id, "/recycling"))
		_, body = f.tech.Get(devicePath(id, "/recycling"))
		mustContain(t, "waiting", body, "Appareil ajouté au lot", "attend dans le lot de recyclage ouvert", "Retirer du lot")
	}
	resp, body := f.tech.PostForm(devicePath(ids[0], "/recycling"), nil)
	adminWantStatus(t, "twice", resp, body, http.StatusConflict)
	// Held: the device page's steps are refused while in the batch.
	st, _, err := f.env.DB.DeviceFacts(ctx, ids[0], postgres.DonationScope{})
	if err != nil {
		t.Fatal(err)
	}
	f.tech.Get(devicePath(ids[0]))
	resp, body = f.tech.PostForm(devicePath(ids[0], "/state"), url.Values{"to": {"diagnosed"}, "version": {fmt.Sprint(st.Version)}})
	adminWantStatus(t, "held", resp, body, http.StatusConflict)
	mustContain(t, "held", body, "attend dans un lot de recyclage : retirez-le du lot d&#39;abord")

	resp, body = f.tech.Get("/recycling")
	adminWantStatus(t, "list", resp, body, http.StatusOK)
	m := batchLinkRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no batch listed\n%s", body)
	}
	batch := "/recycling/" + m[1]
	mustContain(t, "list", body, "Lot de recyclage n° "+m[1], "Ouvert")
	resp, body = f.tech.Get(batch)
	adminWantStatus(t, "batch", resp, body, http.StatusOK)
	mustContain(t, "batch", body, "Remettre le lot au recycleur", "3.800 kg", `enctype="multipart/form-data"`, "Latitude 5490")

	// The form refuses what is wrong, every field at once, input kept.
	resp, body = handoverForm(t, f.tech, batch+"/handover", url.Values{"recycler": {"Ecologic"}, "handed_over_on": {"2999-01-01"},
		"total_weight_kg": {"0"}}, []byte("<html>not a pdf"))
	adminWantStatus(t, "bad handover", resp, body, http.StatusBadRequest)
	mustContain(t, "bad handover", body, `class="error-summary"`, "ne peut pas être dans le futur", "supérieur à 0",
		"Donnez la référence du certificat.", "doit être un fichier PDF", `value="Ecologic"`)
	resp, body = handoverForm(t, f.tech, batch+"/handover", validHandover(), nil)
	adminWantStatus(t, "no certificate", resp, body, http.StatusBadRequest)
	mustContain(t, "no certificate", body, "Joignez le certificat du recycleur")
	if blobs := storedBlobs(t, f.env, "recycling"); len(blobs) != 0 {
		t.Fatalf("refused forms left blobs: %v", blobs)
	}
	// Another workshop cannot hand it over, nor see it.
	f.other.Get("/scan")
	resp, body = handoverForm(t, f.other, batch+"/handover", validHandover(), testCertPDF)
	adminWantStatus(t, "other workshop", resp, body, http.StatusNotFound)
	for _, p := range []string{batch, batch + "/certificate", devicePath(ids[0], "/recycling")} {
		resp, body = f.other.Get(p)
		adminWantStatus(t, "other workshop "+p, resp, body, http.StatusNotFound)
	}
	resp, body = f.donor.Get("/recycling")
	adminWantStatus(t, "donor", resp, body, http.StatusForbidden)
	resp, body = f.tech.Get(batch + "/certificate")
	adminWantStatus(t, "no certificate yet", resp, body, http.StatusNotFound)

	f.tech.Get(batch)
	resp, body = handoverForm(t, f.tech, batch+"/handover", validHandover(), testCertPDF)
	wantRedirect(t, "handover", resp, body, batch)
	_, body = f.tech.Get(batch)
	mustContain(t, "handed over", body, "Lot remis au recycleur", "Remis au recycleur", "Ecologic Sud-Ouest", "5.700 kg",
		"BSD-2026-42", "bsd 2026-42.pdf", f.codes[0].String(), f.codes[1].String())
	if strings.Contains(body, "Remettre le lot au recycleur") || strings.Contains(body, "Retirer du lot") {
		t.Fatal("a handed-over batch still offers its forms")
	}
	resp, pdf := f.tech.Get(batch + "/certificate")
	if resp.StatusCode != http.StatusOK || pdf != string(testCertPDF) || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("certificate: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, _ = f.op.Get(batch + "/certificate")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("operator's certificate: %d", resp.StatusCode)
	}
	for i, id := range ids {
		d, err := f.env.DB.Device(ctx, id, postgres.DonationScope{})
		if want := []string{"recycled", "recycled", "received"}[i]; err != nil || d.State != want {
			t.Fatalf("device %d: %s, %v", i, d.State, err)
		}
	}
	events, _, err := f.env.DB.DeviceEvents(ctx, ids[0], 1)
	if err != nil || len(events) != 3 || events[0].To != "recycled" || events[1].Kind != postgres.EventRecycling {
		t.Fatalf("events %+v, %v", events, err)
	}
	if rep, err := f.env.DB.VerifyEventChains(ctx); err != nil || len(rep.Breaks) != 0 {
		t.Fatalf("audit: %+v, %v", rep, err)
	}
	resp, body = f.tech.Get(devicePath(ids[0], "/recycling"))
	mustContain(t, "recycled device", body, "est parti au recyclage avec le")
	resp, body = handoverForm(t, f.tech, batch+"/handover", validHandover(), testCertPDF)
	adminWantStatus(t, "again", resp, body, http.StatusConflict)
	if blobs := storedBlobs(t, f.env, "recycling"); len(blobs) != 1 {
		t.Fatalf("blobs: %v", blobs)
	}

	// The operator sees every workshop's batches; the device leaves a new
	// batch from the batch page.
	_, body = f.op.Get("/recycling")
	mustContain(t, "operator", body, "Atelier Berriz")
	mustErasureSQL(t, f.env, ids[2], "WD-1")
	f.tech.Get(devicePath(ids[2], "/recycling"))
	resp, body = f.tech.PostForm(devicePath(ids[2], "/recycling"), nil)
	wantRedirect(t, "new batch", resp, body, devicePath(ids[2], "/recycling"))
	d, _ := f.env.DB.Device(ctx, ids[2], postgres.DonationScope{})
	next := fmt.Sprintf("/recycling/%d", d.RecyclingBatchID)
	f.tech.Get(next)
	resp, body = f.tech.PostForm(devicePath(ids[2], "/recycling/remove"), url.Values{"back": {"batch"}})
	wantRedirect(t, "remove", resp, body, next)
	_, body = f.tech.Get(next)
	mustContain(t, "removed", body, "Appareil retiré du lot", "Aucun appareil dans ce lot")
	resp, body = f.tech.PostForm(devicePath(ids[2], "/recycling/remove"), nil)
	adminWantStatus(t, "remove twice", resp, body, http.StatusConflict)
}

func mustErasureSQL(t *testing.T, env *servertest.Env, id int64, serial string) {
	t.Helper()
	mustSQL(t, env, `INSERT INTO erasures (device_id, cycle, drive_position, drive_type, drive_capacity_gb, drive_serial, method, tool,
		passes, verification, started_at, ended_at, technician_name)
		SELECT id, cycle, 1, 'hdd', 500, $2, 'purge_overwrite', 'nwipe', 1, 'passed', now(), now(), 'Ane' FROM devices WHERE id = $1`, id, serial)
}

// A handover that fails midway (a device of the batch can no longer be
// recycled) changes nothing: no device recycled, no certificate kept, and
// the message names the device and why.
func TestRecyclingHandoverFailsMidway(t *testing.T) {
	f, ids := mustRecyclingFixture(t)
	ctx := context.Background()
	mustErasureSQL(t, f.env, ids[2], "WD-1")
	for _, id := range ids {
		if _, err := f.env.DB.AddToRecycling(ctx, id, postgres.DonationScope{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A second drive is found on the last device after it joined.
	mustSQL(t, f.env, `INSERT INTO device_drives (device_id, position, type, capacity_gb, serial) VALUES ($1, 2, 'ssd', 128, 'LATE')`, ids[2])
	mustSQL(t, f.env, `UPDATE devices SET storage_drives = 2 WHERE id = $1`, ids[2])
	d, _ := f.env.DB.Device(ctx, ids[0], postgres.DonationScope{})
	batch := fmt.Sprintf("/recycling/%d", d.RecyclingBatchID)
	f.tech.Get(batch)
	resp, body := handoverForm(t, f.tech, batch+"/handover", validHandover(), testCertPDF)
	adminWantStatus(t, "midway", resp, body, http.StatusConflict)
	mustContain(t, "midway", body, "Remise refusée, rien n&#39;est enregistré", "Dell Latitude 5490 ("+f.codes[2].String()+")",
		"1 disque(s) sans effacement vérifié", `value="Ecologic Sud-Ouest"`)
	for _, id := range ids {
		if d, _ := f.env.DB.Device(ctx, id, postgres.DonationScope{}); d.State != "received" {
			t.Fatalf("device %d is %s after a refused handover", id, d.State)
		}
	}
	if blobs := storedBlobs(t, f.env, "recycling"); len(blobs) != 0 {
		t.Fatalf("a refused handover left its certificate: %v", blobs)
	}
	// The API says the same, with the device's id.
	tok := f.env.MustToken(t, f.shop.ID, techID(t, f), "write")
	resp, body = handoverForm(t, f.env.API(t, tok), "/api/v1"+batch+"/handover", validHandover(), testCertPDF)
	adminWantStatus(t, "api midway", resp, body, http.StatusConflict)
	mustContain(t, "api midway", body, fmt.Sprintf(`"device_id":%d`, ids[2]), "disque(s) sans effacement")
	if blobs := storedBlobs(t, f.env, "recycling"); len(blobs) != 0 {
		t.Fatalf("a refused handover left its certificate: %v", blobs)
	}
}

func techID(t *testing.T, f scanFixture) int64 {
	t.Helper()
	var id int64
	if err := f.env.DB.SQL().QueryRow(`SELECT id FROM users WHERE name = 'Ane Tech'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// Two handovers of one batch at once: one wins; the other is refused and
// its certificate is not kept.
func TestRecyclingTwoHandoversAtOnce(t *testing.T) {
	f, ids := mustRecyclingFixture(t)
	ctx := context.Background()
	for _, id := range ids[:2] {
		if _, err := f.env.DB.AddToRecycling(ctx, id, postgres.DonationScope{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := f.env.DB.Device(ctx, ids[0], postgres.DonationScope{})
	path := fmt.Sprintf("/api/v1/recycling/%d/handover", d.RecyclingBatchID)
	tok := f.env.MustToken(t, f.shop.ID, techID(t, f), "write")
	statuses := make([]int, 2)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := handoverForm(t, f.env.API(t, tok), path, validHandover(), testCertPDF)
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	if !(statuses[0] == 200 && statuses[1] == 409 || statuses[0] == 409 && statuses[1] == 200) {
		t.Fatalf("statuses %v", statuses)
	}
	if blobs := storedBlobs(t, f.env, "recycling"); len(blobs) != 1 {
		t.Fatalf("blobs: %v", blobs)
	}
	for _, id := range ids[:2] {
		events, _, _ := f.env.DB.DeviceEvents(ctx, id, 1)
		recycled := 0
		for _, e := range events {
			if e.To == "recycled" && e.Kind == postgres.EventState {
				recycled++
			}
		}
		if recycled != 1 {
			t.Fatalf("device %d recycled %d times", id, recycled)
		}
	}
}
