package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/storage"
)

// demoBench is one workshop at work in the demo: its technician and its
// admin, the scope their pages confine them to, and the store calls those
// pages make (the same functions, so every record is checked by the same
// rules and every event joins the device's hash chain). Each step does
// nothing once one failed: the first error is kept with the step and the
// device it was about, so the script of demo_workshop_days.go reads as the
// day's work and is checked once at the end, as bufio.Writer does.
type demoBench struct {
	ctx         context.Context
	db          *postgres.DB
	files       storage.Store
	key         string // the workshop's demoOrg.Key
	tech, admin *account.Principal
	scope       postgres.DonationScope
	now         time.Time
	locations   map[string]int64 // by name
	erasures    int              // recorded so far, to space their times
	err         error
}

// fail keeps the first error, naming the step and the device.
func (b *demoBench) fail(step string, id int64, err error) {
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("%s, %s of device %d: %w", b.key, step, id, err)
	}
}

// locate creates the workshop's locations.
func (b *demoBench) locate(names ...string) {
	for _, n := range names {
		if b.err != nil {
			return
		}
		l, err := b.db.CreateLocation(b.ctx, b.tech.OrgID, n)
		b.fail("location "+n, 0, err)
		b.locations[n] = l.ID
	}
}

// move puts a device on one of the workshop's locations.
func (b *demoBench) move(id int64, location string) {
	if b.err != nil {
		return
	}
	_, err := b.db.MoveDevice(b.ctx, id, b.scope, b.locations[location], 0, b.tech)
	b.fail("move to "+location, id, err)
}

// specs records what the diagnosis found out about a device: CPU, memory,
// battery and each drive with its serial.
func (b *demoBench) specs(id int64, s device.Specs) {
	if b.err != nil {
		return
	}
	b.fail("specs", id, b.db.SetDeviceSpecs(b.ctx, id, b.scope, s))
}

// device reads a device as its pages do.
func (b *demoBench) device(id int64) postgres.DeviceDetail {
	if b.err != nil {
		return postgres.DeviceDetail{}
	}
	d, err := b.db.Device(b.ctx, id, b.scope)
	b.fail("read", id, err)
	return d
}

// failed and absent are the answers a demo diagnosis names; the tests it
// does not name pass.
func failed(note string) diagnosis.Answer {
	return diagnosis.Answer{Result: diagnosis.Fail, Note: note}
}

var absent = diagnosis.Answer{Result: diagnosis.NA}

// diagnose records a complete diagnosis with the checklist of the
// device's category: every test passes but those of except.
func (b *demoBench) diagnose(id int64, cosmetic diagnosis.Grade, notes string, except map[string]diagnosis.Answer) {
	d := b.device(id)
	if b.err != nil {
		return
	}
	c, ok := diagnosis.ForCategory(d.Category)
	if !ok {
		b.fail("diagnosis", id, fmt.Errorf("no checklist for %s", d.Category))
		return
	}
	dg := diagnosis.Diagnosis{Checklist: c.ID, Cosmetic: cosmetic, Notes: notes}
	for _, it := range c.Items {
		a, ok := except[it.ID]
		if !ok {
			a = diagnosis.Answer{Result: diagnosis.Pass}
		}
		a.Item = it.ID
		dg.Answers = append(dg.Answers, a)
	}
	_, err := b.db.RecordDiagnosis(b.ctx, id, b.scope, dg, b.tech)
	b.fail("diagnosis", id, err)
}

// to moves a device to the next state, as the device page's buttons do.
func (b *demoBench) to(id int64, st lifecycle.State) {
	if b.err != nil {
		return
	}
	_, err := b.db.TransitionDevice(b.ctx, id, b.scope, postgres.Transition{To: st}, b.tech)
	b.fail("step to "+string(st), id, err)
}

// demoErasure is one erasure as the technician reports it.
type demoErasure struct {
	Drive        int // position on the device
	Tool         erasure.Tool
	Version      string
	Method       erasure.Method
	Passes       int
	Verification erasure.Verification
	Took         time.Duration
	Notes        string
}

// erase records the erasure of one drive. The erasures of the demo ended
// in the last hours, a few minutes apart; a tool that writes a log (nwipe,
// ShredOS) gets one, stored as the erasure page stores an upload.
func (b *demoBench) erase(id int64, e demoErasure) {
	d := b.device(id)
	if b.err != nil {
		return
	}
	b.erasures++
	end := b.now.Add(-time.Duration(b.erasures) * 9 * time.Minute).Truncate(time.Minute)
	rec := erasure.Record{Method: e.Method, Tool: e.Tool, ToolVersion: e.Version, Passes: e.Passes,
		Verification: e.Verification, StartedAt: end.Add(-e.Took), EndedAt: end, Notes: e.Notes}
	var log *postgres.ErasureLog
	if e.Tool.LogRequired() {
		if e.Drive < 1 || e.Drive > len(d.Specs.Drives) {
			b.fail("erasure log", id, fmt.Errorf("no drive %d", e.Drive))
			return
		}
		name := string(e.Tool) + "_" + end.Format("20060102-1504") + ".log"
		log = b.storeLog(id, name, wipeLog(rec, d.Specs.Drives[e.Drive-1]))
	}
	if b.err != nil {
		return
	}
	_, err := b.db.RecordErasure(b.ctx, id, b.scope, postgres.NewErasure{Drive: erasure.DriveRef{Position: e.Drive},
		Record: rec, Log: log, Now: time.Now()}, b.tech)
	if err != nil && log != nil {
		_ = b.files.Delete(b.ctx, log.Key) // a log without its record is kept by nobody
	}
	b.fail("erasure", id, err)
}

// storeLog keeps a tool's log under a random key of the device, as the
// erasure page does with an upload, checked by the same rule.
func (b *demoBench) storeLog(id int64, name string, data []byte) *postgres.ErasureLog {
	ct, ext, err := erasure.CheckLog(data)
	if err != nil {
		b.fail("erasure log", id, err)
		return nil
	}
	l := &postgres.ErasureLog{Key: demoFileKey("devices/"+strconv.FormatInt(id, 10)+"/erasure-logs/") + ext,
		Name: name, ContentType: ct, Size: int64(len(data)), SHA256: sha256Hex(data)}
	_, err = b.files.Put(b.ctx, l.Key, bytes.NewReader(data), l.Size, ct)
	b.fail("store the erasure log", id, err)
	return l
}

// work records a repair, a cleaning or an installed system.
func (b *demoBench) work(id int64, kind parts.WorkKind, description string, minutes int, os string) {
	if b.err != nil {
		return
	}
	_, err := b.db.AddRepair(b.ctx, id, b.scope, parts.Work{Kind: kind, Description: description, Minutes: minutes, OS: os}, b.tech)
	b.fail("work "+string(kind), id, err)
}

// fit fits a part of the workshop's stock to a device.
func (b *demoBench) fit(id int64, part postgres.StockPart, minutes int) {
	if b.err != nil {
		return
	}
	_, err := b.db.FitPart(b.ctx, id, b.scope, parts.Fit{StockPartID: part.ID, Minutes: minutes}, b.tech)
	b.fail("fit stock part "+strconv.FormatInt(part.ID, 10), id, err)
}

// grade gives a device its grade at the version it has now; reason is
// required by the store when the grade is not the suggested one.
func (b *demoBench) grade(id int64, g diagnosis.Grade, reason string) {
	d := b.device(id)
	if b.err != nil {
		return
	}
	_, err := b.db.SetGrade(b.ctx, id, b.scope, postgres.GradeInput{Grade: g, Reason: reason, Version: d.Version}, b.tech)
	b.fail("grade", id, err)
}

// buy puts a part bought new into the workshop's stock.
func (b *demoBench) buy(p parts.NewPart) postgres.StockPart {
	if b.err != nil {
		return postgres.StockPart{}
	}
	sp, err := b.db.AddStockPart(b.ctx, b.tech.OrgID, p, b.admin)
	b.fail("buy "+p.Kind, 0, err)
	return sp
}

// dismantle strips a device and returns the parts kept, now in stock.
func (b *demoBench) dismantle(id int64, note string, kept ...parts.Kept) []postgres.StockPart {
	if b.err != nil {
		return nil
	}
	_, sp, err := b.db.DismantleDevice(b.ctx, id, b.scope, parts.Dismantle{Parts: kept, Note: note}, b.tech)
	b.fail("dismantle", id, err)
	return sp
}

// recycle puts a device into the workshop's open recycling batch and
// returns the batch.
func (b *demoBench) recycle(id int64) int64 {
	if b.err != nil {
		return 0
	}
	j, err := b.db.AddToRecycling(b.ctx, id, b.scope, b.tech)
	b.fail("recycling", id, err)
	return j.BatchID
}

// handOver hands a batch to the recycler with its certificate, a PDF
// stored as the recycling page stores the upload.
func (b *demoBench) handOver(batch int64, h demoHandover) {
	if b.err != nil {
		return
	}
	hv, data, err := h.certificate(b)
	if err != nil {
		b.fail("recycler's certificate", 0, err)
		return
	}
	cert := postgres.Certificate{Key: demoFileKey("recycling/"+strconv.FormatInt(batch, 10)+"/certificate-") + ".pdf",
		Name: h.FileName, Size: int64(len(data)), SHA256: sha256Hex(data)}
	if _, err := b.files.Put(b.ctx, cert.Key, bytes.NewReader(data), cert.Size, "application/pdf"); err != nil {
		b.fail("store the recycler's certificate", 0, err)
		return
	}
	_, err = b.db.HandOverRecycling(b.ctx, batch, b.admin.OrgID, hv, cert, b.admin)
	if err != nil {
		_ = b.files.Delete(b.ctx, cert.Key)
	}
	b.fail("hand over batch "+strconv.FormatInt(batch, 10), 0, err)
}

// demoFileKey is a storage key under prefix ending in 32 random hex
// digits, as the server names uploads.
func demoFileKey(prefix string) string {
	var r [16]byte
	_, _ = rand.Read(r[:]) // never fails (crypto/rand)
	return prefix + hex.EncodeToString(r[:])
}

// sha256Hex is the checksum the store records with a blob.
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// wipeLog writes the log nwipe (alone or inside ShredOS) leaves after
// erasing drive d as rec says, in its own format, times in the
// territory's zone.
func wipeLog(rec erasure.Record, d device.Drive) []byte {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		loc = time.UTC
	}
	at := func(t time.Time) string { return "[" + t.In(loc).Format("2006/01/02 15:04:05") + "]" }
	var w strings.Builder
	start, end := rec.StartedAt, rec.EndedAt
	name := "nwipe " + rec.ToolVersion
	if rec.Tool == erasure.ShredOS {
		name = "ShredOS " + rec.ToolVersion + " (nwipe)"
	}
	fmt.Fprintf(&w, "%s notice: %s\n", at(start), name)
	fmt.Fprintf(&w, "%s info: /dev/sda, %s, %d GB, S/N=%s\n", at(start), strings.ToUpper(string(d.Type)), d.CapacityGB, d.Serial)
	method := "PRNG Stream"
	if rec.Passes == 3 {
		method = "DoD Short"
	}
	fmt.Fprintf(&w, "%s notice: Method: %s, passes %d, verify: last pass\n", at(start), method, rec.Passes)
	step := end.Sub(start) / time.Duration(rec.Passes+1)
	for p := 1; p <= rec.Passes; p++ {
		fmt.Fprintf(&w, "%s notice: /dev/sda: pass %d/%d completed\n", at(start.Add(time.Duration(p)*step)), p, rec.Passes)
	}
	result := "Erased"
	if rec.Verification == erasure.Failed {
		result = "FAILED"
		fmt.Fprintf(&w, "%s error: /dev/sda: verification found data left on the disk\n", at(end))
	} else {
		fmt.Fprintf(&w, "%s notice: Verified that /dev/sda is empty\n", at(end))
	}
	elapsed := end.Sub(start).Round(time.Second)
	fmt.Fprintf(&w, "%s notice: ************************************************************\n", at(end))
	fmt.Fprintf(&w, "! Device | Status | Thru-put | HH:MM:SS | Model/Serial Number\n")
	fmt.Fprintf(&w, "! sda    | %s | %d MB/s | %02d:%02d:%02d | %s\n", result,
		int64(d.CapacityGB)*1000*int64(rec.Passes+1)/max(int64(elapsed/time.Second), 1),
		int(elapsed.Hours()), int(elapsed.Minutes())%60, int(elapsed.Seconds())%60, d.Serial)
	return []byte(w.String())
}
