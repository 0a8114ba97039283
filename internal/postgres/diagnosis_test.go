package postgres_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
)

// laptopDiagnosis answers the laptop checklist: every test passes except
// the failed ones; skip leaves tests unanswered.
func laptopDiagnosis(t *testing.T, cosmetic diagnosis.Grade, failed []string, skip int) diagnosis.Diagnosis {
	t.Helper()
	c, _ := diagnosis.ForCategory("laptop")
	d := diagnosis.Diagnosis{Checklist: c.ID, Cosmetic: cosmetic, Notes: "Clavier AZERTY"}
	for _, it := range c.Items[skip:] {
		a := diagnosis.Answer{Item: it.ID, Result: diagnosis.Pass}
		if slices.Contains(failed, it.ID) {
			a.Result, a.Note = diagnosis.Fail, "HS"
		}
		d.Answers = append(d.Answers, a)
	}
	return d
}

// A diagnosis is recorded with its results and suggestion, in the
// device's history; only the latest of the current cycle counts for the
// lifecycle.
func TestRecordDiagnosis(t *testing.T) {
	f, id := mustReceived(t)
	ctx := context.Background()
	scope := postgres.DonationScope{WorkshopOrgID: f.shop.ID}
	mustExec(t, f.db, `UPDATE devices SET battery_health_pct = 85 WHERE id = $1`, id)

	partial, err := f.db.RecordDiagnosis(ctx, id, scope, laptopDiagnosis(t, "", nil, 3), f.tech)
	if err != nil {
		t.Fatal(err)
	}
	if partial.Complete || partial.SuggestedGrade != "" || len(partial.Answers) != 12 || partial.Cycle != 1 {
		t.Fatalf("partial: %+v", partial)
	}
	if _, facts, _ := f.db.DeviceFacts(ctx, id, scope); facts.Diagnosed {
		t.Fatal("a partial diagnosis counts as a diagnosis")
	}
	rec, err := f.db.RecordDiagnosis(ctx, id, scope, laptopDiagnosis(t, diagnosis.B, []string{"camera"}, 0), f.tech)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Complete || rec.SuggestedGrade != diagnosis.B || rec.BatteryHealthPct == nil || *rec.BatteryHealthPct != 85 {
		t.Fatalf("complete: %+v", rec)
	}
	if _, facts, _ := f.db.DeviceFacts(ctx, id, scope); !facts.Diagnosed {
		t.Fatal("a complete diagnosis does not count")
	}
	dev, err := f.db.Device(ctx, id, scope)
	if err != nil || dev.GradeSuggested != "B" || dev.Grade != "" {
		t.Fatalf("device after diagnosis: %+v, %v", dev, err)
	}

	// The latest, then the history of the cycle, newest first, results in
	// the checklist's order.
	latest, err := f.db.LatestDiagnosis(ctx, id, 1)
	if err != nil || latest.ID != rec.ID || !slices.Equal(latest.Answers, rec.Answers) || latest.Notes != "Clavier AZERTY" ||
		latest.Cosmetic != diagnosis.B || *latest.BatteryHealthPct != 85 || latest.CreatedByName == "" {
		t.Fatalf("latest: %+v, %v", latest, err)
	}
	if s := latest.Suggestion(); s.Grade != diagnosis.B || len(s.Reasons) != 2 {
		t.Errorf("suggestion again: %+v", s)
	}
	list, page, err := f.db.Diagnoses(ctx, id, 1, 1)
	if err != nil || page.Total != 2 || len(list) != 2 || list[0].ID != rec.ID || list[1].ID != partial.ID || len(list[1].Answers) != 12 {
		t.Fatalf("history: %d %+v %v", page.Total, list, err)
	}
	if _, err := f.db.LatestDiagnosis(ctx, id, 2); berriz.KindOf(err) != berriz.NotFound {
		t.Fatalf("another cycle: %v", err)
	}

	// Both are in the device's chained history, with what was recorded.
	events, _, err := f.db.DeviceEvents(ctx, id, 1)
	if err != nil || events[0].Kind != postgres.EventDiagnosis || events[0].From != "received" || events[0].To != "received" {
		t.Fatalf("events %+v %v", events, err)
	}
	var detail struct {
		Diagnosis int64
		Checklist string
		Results   []string
		Complete  bool
		Suggested string
		Battery   int
	}
	if err := json.Unmarshal([]byte(events[0].Detail), &detail); err != nil || detail.Diagnosis != rec.ID || detail.Checklist != "laptop/v1" ||
		!detail.Complete || detail.Suggested != "B" || detail.Battery != 85 || !slices.Contains(detail.Results, "camera:fail") {
		t.Fatalf("detail %s: %v", events[0].Detail, err)
	}
	if rep, err := f.db.VerifyEventChains(ctx); err != nil || len(rep.Breaks) != 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}

	// Refusals: another workshop, another checklist, a device past the workshop.
	_, err = f.db.RecordDiagnosis(ctx, id, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}, laptopDiagnosis(t, "A", nil, 0), f.tech)
	wantKind(t, "other workshop", err, berriz.NotFound, "device.error.not_found")
	mouse, _ := diagnosis.ByID("mouse/v1")
	_, err = f.db.RecordDiagnosis(ctx, id, scope, diagnosis.Diagnosis{Checklist: mouse.ID, Cosmetic: "A"}, f.tech)
	wantKind(t, "other checklist", err, berriz.Invalid, "error.invalid_fields")
	for _, st := range []string{"declared", "available", "reserved", "delivered", "recycled"} {
		mustExec(t, f.db, `UPDATE devices SET state = $2 WHERE id = $1`, id, st)
		_, err = f.db.RecordDiagnosis(ctx, id, scope, laptopDiagnosis(t, "A", nil, 0), f.tech)
		wantKind(t, st, err, berriz.Conflict, "diagnosis.error.state")
		if got := berriz.As(err).Details["state"]; got != st {
			t.Errorf("%s: details %v", st, berriz.As(err).Details)
		}
	}
	for _, st := range []string{"diagnosed", "wiped", "refurbished", "returned"} {
		mustExec(t, f.db, `UPDATE devices SET state = $2 WHERE id = $1`, id, st)
		if _, err := f.db.RecordDiagnosis(ctx, id, scope, laptopDiagnosis(t, "A", nil, 0), f.tech); err != nil {
			t.Errorf("%s: %v", st, err)
		}
	}
}

// The grade's rules: after erasure, on a complete diagnosis, with the
// version the client saw, a reason when it differs from the suggestion; a
// new diagnosis withdraws it.
func TestSetGrade(t *testing.T) {
	f, id := mustReceived(t)
	ctx := context.Background()
	scope := postgres.DonationScope{WorkshopOrgID: f.shop.ID}
	mustExec(t, f.db, `UPDATE devices SET battery_health_pct = 91 WHERE id = $1`, id)
	grade := func(g diagnosis.Grade, reason string) (postgres.GradeResult, error) {
		st, _, err := f.db.DeviceFacts(ctx, id, scope)
		if err != nil {
			t.Fatal(err)
		}
		return f.db.SetGrade(ctx, id, scope, postgres.GradeInput{Grade: g, Reason: reason, Version: st.Version}, f.tech)
	}
	if _, err := f.db.RecordDiagnosis(ctx, id, scope, laptopDiagnosis(t, "A", nil, 0), f.tech); err != nil {
		t.Fatal(err)
	}
	_, err := grade("A", "")
	wantKind(t, "before erasure", err, berriz.Conflict, "diagnosis.error.grade_state")
	mustExec(t, f.db, `UPDATE devices SET state = 'wiped' WHERE id = $1`, id)
	if _, err := f.db.RecordDiagnosis(ctx, id, scope, laptopDiagnosis(t, "", nil, 1), f.tech); err != nil {
		t.Fatal(err)
	}
	_, err = grade("A", "")
	wantKind(t, "incomplete", err, berriz.Conflict, "diagnosis.error.grade_needs_diagnosis")
	if _, err := f.db.RecordDiagnosis(ctx, id, scope, laptopDiagnosis(t, "A", nil, 0), f.tech); err != nil {
		t.Fatal(err)
	}
	for in, field := range map[[2]string]string{{"D", ""}: "grade", {"", ""}: "grade", {"B", ""}: "reason", {"B", " ok "}: "reason",
		{"C", strings.Repeat("x", 501)}: "reason", {"C", "é\x00é"}: "reason"} {
		_, err := grade(diagnosis.Grade(in[0]), in[1])
		if berriz.KindOf(err) != berriz.Invalid || berriz.As(err).Fields[field] == "" {
			t.Errorf("%q: %v", in, err)
		}
	}
	st, _, _ := f.db.DeviceFacts(ctx, id, scope)
	_, err = f.db.SetGrade(ctx, id, scope, postgres.GradeInput{Grade: "A", Version: st.Version - 1}, f.tech)
	wantKind(t, "stale", err, berriz.Conflict, "lifecycle.error.stale")
	if d := berriz.As(err).Details; d["version"] != st.Version || d["state"] != "wiped" {
		t.Errorf("stale details %v", d)
	}

	got, err := grade("A", "")
	if err != nil || got.Grade != "A" || got.GradeSuggested != "A" || got.Version != st.Version+1 || got.State != "wiped" {
		t.Fatalf("grade as suggested: %+v, %v", got, err)
	}
	got, err = grade("B", "  Charnière un peu molle  ")
	if err != nil || got.Grade != "B" || got.GradeReason != "Charnière un peu molle" || got.Version != st.Version+2 {
		t.Fatalf("grade B: %+v, %v", got, err)
	}
	dev, _ := f.db.Device(ctx, id, scope)
	if dev.Grade != "B" || dev.GradeReason != "Charnière un peu molle" || dev.Version != got.Version {
		t.Fatalf("device %+v", dev)
	}
	events, _, _ := f.db.DeviceEvents(ctx, id, 1)
	if e := events[0]; e.Kind != postgres.EventGrade || e.Note != "Charnière un peu molle" || e.Detail == "" || e.From != "wiped" {
		t.Fatalf("grade event %+v", e)
	}
	// The grade opens the next step.
	mustExec(t, f.db, `UPDATE devices SET os = 'Debian 13' WHERE id = $1`, id)
	mustErasure(t, f.db, id, 1, "WD-1", "passed")
	mustErasure(t, f.db, id, 2, "SSD-2", "passed")
	if _, err := f.db.TransitionDevice(ctx, id, scope, postgres.Transition{To: lifecycle.Refurbished}, f.tech); err != nil {
		t.Fatal(err)
	}
	if _, err := grade("A", ""); err != nil {
		t.Fatalf("regrade when refurbished: %v", err)
	}

	// A new diagnosis withdraws the grade and changes the version.
	before, _, _ := f.db.DeviceFacts(ctx, id, scope)
	if _, err := f.db.RecordDiagnosis(ctx, id, scope, laptopDiagnosis(t, "A", []string{"screen"}, 0), f.tech); err != nil {
		t.Fatal(err)
	}
	after, facts, _ := f.db.DeviceFacts(ctx, id, scope)
	if facts.Grade != "" || after.Version != before.Version+1 {
		t.Fatalf("grade kept after a new diagnosis: %+v %+v", after, facts)
	}
	// A critical failure suggests no grade: any grade needs a reason.
	_, err = grade("C", "")
	wantKind(t, "override none", err, berriz.Invalid, "error.invalid_fields")
	if _, err := grade("C", "Écran remplacé, à rediagnostiquer"); err != nil {
		t.Fatal(err)
	}
	_, err = f.db.SetGrade(ctx, id, postgres.DonationScope{WorkshopOrgID: f.otherShop.ID}, postgres.GradeInput{Grade: "A", Version: after.Version + 1}, f.tech)
	wantKind(t, "other workshop", err, berriz.NotFound, "device.error.not_found")
	if rep, err := f.db.VerifyEventChains(ctx); err != nil || len(rep.Breaks) != 0 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
}

// Two technicians grade the same device from the same version at once:
// one wins, the other gets the stale conflict with the fresh version.
func TestConcurrentGrades(t *testing.T) {
	f, id := mustReceived(t)
	ctx := context.Background()
	scope := postgres.DonationScope{WorkshopOrgID: f.shop.ID}
	mustExec(t, f.db, `UPDATE devices SET battery_health_pct = 91, state = 'wiped' WHERE id = $1`, id)
	if _, err := f.db.RecordDiagnosis(ctx, id, scope, laptopDiagnosis(t, "A", nil, 0), f.tech); err != nil {
		t.Fatal(err)
	}
	st, _, _ := f.db.DeviceFacts(ctx, id, scope)
	var (
		wg   sync.WaitGroup
		errs = make([]error, 8)
	)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := []diagnosis.Grade{"A", "B"}[i%2]
			_, errs[i] = f.db.SetGrade(ctx, id, scope, postgres.GradeInput{Grade: g, Reason: "Choix n° " + string(rune('0'+i)), Version: st.Version}, f.tech)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case berriz.As(err).Message != "lifecycle.error.stale" || berriz.As(err).Details["version"] != st.Version+1:
			t.Errorf("loser: %v %v", err, berriz.As(err).Details)
		}
	}
	if won != 1 {
		t.Fatalf("%d winners", won)
	}
	if after, _, _ := f.db.DeviceFacts(ctx, id, scope); after.Version != st.Version+1 {
		t.Fatalf("version %d, want %d", after.Version, st.Version+1)
	}
}
