package postgres_test

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/postgres"
)

// mustDelivered confirms a handover of every device of the fixture; the
// first device got a new SSD and a second-hand battery in its cycle.
func mustDelivered(t *testing.T, f handoverFixture) postgres.Handover {
	t.Helper()
	mustExec(t, f.db, `INSERT INTO device_parts (device_id, cycle, kind, condition) VALUES ($1, 1, 'ssd_256gb', 'new'),
		($1, 1, 'laptop_battery', 'second_hand'), ($1, 1, 'other', 'new')`, f.ids[0])
	h := f.mustPrepare(t, &receiptRecorder{}, f.reservations...)
	if _, err := f.db.ConfirmHandover(context.Background(), h.ID, postgres.HandoverScope{}, "", f.op); err != nil {
		t.Fatal(err)
	}
	return h
}

func mustEmissions(t *testing.T, db *postgres.DB, id int64) []postgres.EmissionResult {
	t.Helper()
	rs, err := db.DeviceEmissions(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.0005 }

// sameFigures: the stored columns are the params' figures (numeric(12,3)).
func sameFigures(t *testing.T, r postgres.EmissionResult, want co2.Result) {
	t.Helper()
	if !near(r.NetKg, want.Net) || !near(r.LowKg, want.Low) || !near(r.HighKg, want.High) || !near(r.GrossKg, want.Gross) ||
		!near(r.PerYearKg, want.PerYear) || !reflect.DeepEqual(r.Params, want) {
		t.Fatalf("stored %+v\nwant %+v", r, want)
	}
}

// A confirmed handover stores each device's estimated result with the
// active set: exactly co2.Compute's, new parts only in the burden.
func TestEmissionsAtHandover(t *testing.T) {
	f := mustHandoverFixture(t, 2, 2)
	h := mustDelivered(t, f)
	rs := mustEmissions(t, f.db, f.ids[0])
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	r := rs[0]
	want, _ := co2.Embedded().Compute(co2.Input{Category: "laptop", D: co2.DefaultD, NewParts: []string{"ssd_256gb"}})
	if r.Status != postgres.EmissionEstimated || !r.Current || r.Cycle != 1 || r.HandoverID != h.ID || r.SetID != co2.FactorSetID ||
		r.SetVersion != "1" || r.Method != co2.MethodVersion || r.DeliveredOn == "" {
		t.Fatalf("result %+v", r)
	}
	sameFigures(t, r, want)
	if co2.Round1(r.NetKg) != 55.9 { // 0.7 × 182.3 × 3/5 − (3 + 17.7)
		t.Fatalf("net %v", r.NetKg)
	}
	plain := mustEmissions(t, f.db, f.ids[1])
	if len(plain) != 1 || co2.Round1(plain[0].NetKg) != 73.6 { // METHOD.md's first worked example
		t.Fatalf("second device %+v", plain)
	}
	cur, ok, err := f.db.CurrentEmission(context.Background(), f.ids[1])
	if err != nil || !ok || cur.ID != plain[0].ID {
		t.Fatalf("current %+v %v %v", cur, ok, err)
	}
	if _, ok, err := f.db.CurrentEmission(context.Background(), f.ids[1]+1000); ok || err != nil {
		t.Fatalf("unknown device: %v %v", ok, err)
	}
}

// The device comes back after two years: the estimated result stops being
// current and a consolidated one, with the observed second life, takes
// its place; the row before keeps its figures.
func TestEmissionsConsolidatedOnReturn(t *testing.T) {
	f := mustHandoverFixture(t, 1, 1)
	ctx := context.Background()
	h := mustDelivered(t, f)
	before := mustEmissions(t, f.db, f.ids[0])[0]
	mustExec(t, f.db, `UPDATE handovers SET confirmed_at = confirmed_at - interval '730 days 12 hours' WHERE id = $1`, h.ID)
	if _, err := f.db.TransitionDevice(ctx, f.ids[0], f.scope(), postgres.Transition{To: lifecycle.Returned, Note: "Retour"}, f.tech); err != nil {
		t.Fatal(err)
	}
	rs := mustEmissions(t, f.db, f.ids[0])
	if len(rs) != 2 || rs[0].Status != postgres.EmissionConsolidated || !rs[0].Current || rs[1].ID != before.ID || rs[1].Current ||
		rs[1].NetKg != before.NetKg || rs[0].DeliveredOn != before.DeliveredOn || rs[0].HandoverID != h.ID {
		t.Fatalf("results %+v", rs)
	}
	c := rs[0]
	if !c.Params.Observed || math.Abs(c.Params.L2-2.0) > 0.01 {
		t.Fatalf("observed second life %v", c.Params.L2)
	}
	want, _ := co2.Embedded().Compute(co2.Input{Category: "laptop", SecondLifeYears: c.Params.L2, Observed: true, D: co2.DefaultD,
		NewParts: []string{"ssd_256gb"}})
	sameFigures(t, c, want)
	// Its next steps end nothing more.
	mustDiagnosis(t, f.db, f.ids[0], true)
	mustMove(t, f.intakeFixture, f.ids[0], lifecycle.Diagnosed)
	if n := len(mustEmissions(t, f.db, f.ids[0])); n != 2 {
		t.Fatalf("%d results after the diagnosis", n)
	}
}

// A result left estimated for a past delivery (a set imported and its
// results filled by hand, say) is consolidated when the device is
// recycled, with the second life observed up to its return.
func TestEmissionsConsolidatedOnRecycling(t *testing.T) {
	f := mustHandoverFixture(t, 1, 1)
	ctx := context.Background()
	h := mustDelivered(t, f)
	mustExec(t, f.db, `UPDATE handovers SET confirmed_at = confirmed_at - interval '365 days 6 hours' WHERE id = $1`, h.ID)
	mustMove(t, f.intakeFixture, f.ids[0], lifecycle.Returned)
	// Back to estimated, as if it had not been consolidated.
	mustExec(t, f.db, `DELETE FROM emission_results WHERE status = 'consolidated'`)
	mustExec(t, f.db, `UPDATE emission_results SET current = true`)
	mustWiped(t, f.intakeFixture, 0, f.ids[0])
	j, err := f.db.AddToRecycling(ctx, f.ids[0], f.scope(), f.tech)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.HandOverRecycling(ctx, j.BatchID, f.shop.ID, testHandover(), testCert, f.tech); err != nil {
		t.Fatal(err)
	}
	mustState(t, f.intakeFixture, f.ids[0], lifecycle.Recycled)
	rs := mustEmissions(t, f.db, f.ids[0])
	if len(rs) != 2 || rs[0].Status != postgres.EmissionConsolidated || !rs[0].Current || rs[1].Current {
		t.Fatalf("results %+v", rs)
	}
	if l2 := rs[0].Params.L2; math.Abs(l2-1.0) > 0.01 {
		t.Fatalf("observed %v years", l2)
	}
}

const (
	testCategories = "category,central_kg,low_kg,high_kg,ref_life_years,second_life_years,base_refurb_kg,typical_weight_kg,quality,source\n" +
		"laptop,200,150,300,5,3,4,2,A,ADEME 2026\n" +
		"tv,300,150,400,8,4,5,15,B,ADEME 2026\n"
	testParts = "part,kg_new,source\nssd_256gb,20,Boavizta\n"
)

func mustImportSet(t *testing.T, db *postgres.DB, id string) postgres.FactorSetInfo {
	t.Helper()
	s, err := db.ImportFactorSet(context.Background(), postgres.NewFactorSetImport{ID: id, Version: "2026.1", ReleasedOn: "2026-06-01",
		Description: "test", Categories: []byte(testCategories), Parts: []byte(testParts)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Importing checks every line (all or nothing); choosing a set keeps one
// active; filling adds the new set's results without changing the old
// ones: estimated for a device still out, consolidated for one back.
func TestFactorSetImportActivateFill(t *testing.T) {
	f := mustHandoverFixture(t, 2, 2)
	ctx := context.Background()
	h := mustDelivered(t, f)
	mustExec(t, f.db, `UPDATE handovers SET confirmed_at = confirmed_at - interval '1 year' WHERE id = $1`, h.ID)
	mustMove(t, f.intakeFixture, f.ids[1], lifecycle.Returned)
	old := map[int64][]postgres.EmissionResult{f.ids[0]: mustEmissions(t, f.db, f.ids[0]), f.ids[1]: mustEmissions(t, f.db, f.ids[1])}

	_, err := f.db.ImportFactorSet(ctx, postgres.NewFactorSetImport{ID: "Bad id", Version: "", ReleasedOn: "2026-13-01",
		Categories: []byte(strings.Replace(testCategories, "200,150", "abc,150", 1)), Parts: []byte("part,kg\n")}, nil)
	wantKind(t, "bad import", err, berriz.Invalid, "error.invalid_fields")
	be := berriz.As(err)
	probs, _ := be.Details["problems"].([]postgres.ImportProblem)
	if be.Fields["id"] == "" || be.Fields["version"] == "" || be.Fields["released_on"] == "" || len(probs) != 3 ||
		probs[0].File != "categories" || probs[0].Line != 2 || probs[0].Column != "central_kg" || probs[0].Value != "abc" ||
		probs[1].File != "parts" || probs[1].Line != 1 || probs[1].Want != "kg_new" {
		t.Fatalf("import errors %+v %+v", be.Fields, probs)
	}
	if n := hoCount(t, f.db, `SELECT count(*) FROM factor_sets`); n != 1 {
		t.Fatalf("%d sets after a refused import", n)
	}
	s := mustImportSet(t, f.db, "fr-ademe-2026")
	if s.Active || s.Categories != 2 || s.Parts != 1 || s.ReleasedOn != "2026-06-01" {
		t.Fatalf("imported %+v", s)
	}
	_, err = f.db.ImportFactorSet(ctx, postgres.NewFactorSetImport{ID: "fr-ademe-2026", Version: "2",
		Categories: []byte(testCategories), Parts: []byte(testParts)}, nil)
	if be := berriz.As(err); be.Fields["id"] != "emissions.error.id_taken" {
		t.Fatalf("id taken: %v", err)
	}
	d, err := f.db.FactorSet(ctx, "fr-ademe-2026")
	if err != nil || len(d.CategoryRows) != 2 || len(d.PartRows) != 1 || d.CategoryRows[0].Source != "ADEME 2026" || d.PartRows[0].Part != "ssd_256gb" {
		t.Fatalf("set %+v %v", d, err)
	}
	if _, err := f.db.ActivateFactorSet(ctx, "nope", f.op); berriz.KindOf(err) != berriz.NotFound {
		t.Fatalf("unknown set: %v", err)
	}
	if a, err := f.db.ActivateFactorSet(ctx, "fr-ademe-2026", f.op); err != nil || !a.Active || a.FilledAt != nil {
		t.Fatalf("activated %+v %v", a, err)
	}
	sets, err := f.db.FactorSets(ctx)
	if err != nil || len(sets) != 2 || sets[0].ID != "fr-ademe-2026" || !sets[0].Active || sets[1].Active {
		t.Fatalf("sets %+v %v", sets, err)
	}

	n, err := f.db.FillAllEmissions(ctx, 1, 10) // one device per batch
	if err != nil || n != 2 {
		t.Fatalf("filled %d, %v", n, err)
	}
	if again, err := f.db.FillEmissions(ctx, 0, 10); err != nil || again.Filled != 0 || !again.Done {
		t.Fatalf("again %+v %v", again, err)
	}
	if d, _ := f.db.FactorSet(ctx, "fr-ademe-2026"); d.FilledAt == nil {
		t.Fatal("not marked filled")
	}
	set, _ := co2.NewFactorSet("fr-ademe-2026", "2026.1", []co2.Category{{ID: "laptop", CentralKg: 200, LowKg: 150, HighKg: 300,
		RefLifeYears: 5, SecondLifeYears: 3, BaseRefurbKg: 4, TypicalWeightKg: 2, Quality: "A", Source: "ADEME 2026"},
		{ID: "tv", CentralKg: 300, LowKg: 150, HighKg: 400, RefLifeYears: 8, SecondLifeYears: 4, BaseRefurbKg: 5, TypicalWeightKg: 15,
			Quality: "B", Source: "ADEME 2026"}}, []co2.Part{{ID: "ssd_256gb", KgNew: 20, Source: "Boavizta"}})
	out := mustEmissions(t, f.db, f.ids[0])
	want, _ := set.Compute(co2.Input{Category: "laptop", D: co2.DefaultD, NewParts: []string{"ssd_256gb"}})
	if len(out) != 2 || out[0].SetID != "fr-ademe-2026" || out[0].Status != postgres.EmissionEstimated || !out[0].Current ||
		!reflect.DeepEqual(out[1], old[f.ids[0]][0]) {
		t.Fatalf("device still out: %+v", out)
	}
	sameFigures(t, out[0], want)
	back := mustEmissions(t, f.db, f.ids[1])
	if len(back) != 3 || back[0].SetID != "fr-ademe-2026" || back[0].Status != postgres.EmissionConsolidated ||
		!reflect.DeepEqual(back[1:], old[f.ids[1]]) || math.Abs(back[0].Params.L2-back[1].Params.L2) > 1e-6 {
		t.Fatalf("device back: %+v\nbefore %+v", back, old[f.ids[1]])
	}
	cur, ok, err := f.db.CurrentEmission(ctx, f.ids[0])
	if err != nil || !ok || cur.SetID != "fr-ademe-2026" {
		t.Fatalf("current %+v %v %v", cur, ok, err)
	}
	// Choosing the first set again: one active, its results already there.
	if _, err := f.db.ActivateFactorSet(ctx, co2.FactorSetID, f.op); err != nil {
		t.Fatal(err)
	}
	if n := hoCount(t, f.db, `SELECT count(*) FROM factor_sets WHERE active`); n != 1 {
		t.Fatalf("%d active sets", n)
	}
	if n, err := f.db.FillAllEmissions(ctx, 1000, 10); err != nil || n != 0 {
		t.Fatalf("refilled %d, %v", n, err)
	}
}

// A device whose row another transaction holds (a change of state in
// progress) is skipped, never waited for, and filled by a later batch;
// a second filler running at once skips its turn.
func TestFillEmissionsSkipsLockedDevices(t *testing.T) {
	f := mustHandoverFixture(t, 2, 2)
	ctx := context.Background()
	mustDelivered(t, f)
	mustImportSet(t, f.db, "fr-ademe-2026")
	if _, err := f.db.ActivateFactorSet(ctx, "fr-ademe-2026", f.op); err != nil {
		t.Fatal(err)
	}
	busy, err := f.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Rollback()
	if _, err := busy.ExecContext(ctx, `SELECT id FROM devices WHERE id = $1 FOR UPDATE`, f.ids[0]); err != nil {
		t.Fatal(err)
	}
	r, err := f.db.FillEmissions(ctx, 0, 10)
	if err != nil || r.Filled != 1 || r.Done {
		t.Fatalf("with a busy device: %+v %v", r, err)
	}
	// Another filler holds the advisory lock: this one skips its turn.
	if _, err := busy.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(0x656d697366696c6c)); err != nil {
		t.Fatal(err)
	}
	if r, err := f.db.FillEmissions(ctx, 0, 10); err != nil || r.Filled != 0 || !r.Done {
		t.Fatalf("while another fills: %+v %v", r, err)
	}
	if err := busy.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n, err := f.db.FillAllEmissions(ctx, 10, 5); err != nil || n != 1 {
		t.Fatalf("later: %d %v", n, err)
	}
	if n := hoCount(t, f.db, `SELECT count(*) FROM emission_results WHERE set_id = 'fr-ademe-2026' AND current`); n != 2 {
		t.Fatalf("%d results of the new set", n)
	}
}
