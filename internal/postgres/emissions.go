package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/lifecycle"
	"gorm.io/gorm"
)

// Avoided emissions of delivered devices (../shared/co2/METHOD.md,
// docs/emissions.md): each computation is a row of emission_results with
// every parameter (co2.Result as JSON), the factor set and the method
// version. A confirmed handover computes its devices' results with the
// active set (estimated, expected second life); the end of the second life
// (the device comes back, or is recycled or dismantled after a delivery)
// recomputes them with the observed years (consolidated): the estimated
// row stops being current and the consolidated one is inserted, in the
// transaction of the change of state. A new factor set never changes a
// row: it adds its own computations (emissions_backfill.go).
//
// A device's cycle is its delivery count: devices.cycle, which a return
// increments, is n at the n-th delivery.

// Result statuses.
const (
	EmissionEstimated    = "estimated"
	EmissionConsolidated = "consolidated"
)

// secondsPerYear is a Julian year: observed second lives are measured in
// those.
const secondsPerYear = 365.25 * 24 * 3600

// observedYears is a second life from delivery to end, in years to the
// hundredth (3.65 days) as the factor sets give lifetimes: a device back
// within a day has 0, not a few seconds that would blow up the per-year
// figure.
func observedYears(delivered, end time.Time) float64 {
	return max(0, math.Round(end.Sub(delivered).Seconds()/secondsPerYear*100)/100)
}

// deliveredOnColumn is a handover's day (h: handovers) in France, the
// day whose month totals credit.
const deliveredOnColumn = `to_char((h.confirmed_at AT TIME ZONE 'Europe/Paris')::date, 'YYYY-MM-DD')`

// EmissionResult is one stored computation of a device's avoided
// emissions.
type EmissionResult struct {
	ID          int64      `json:"id"`
	DeviceID    int64      `json:"device_id"`
	Cycle       int        `json:"cycle"`
	HandoverID  int64      `json:"handover_id,omitempty"`
	SetID       string     `json:"factor_set"`
	SetVersion  string     `json:"factor_set_version"`
	Method      string     `json:"method_version"`
	Status      string     `json:"status"`
	Current     bool       `json:"current"`
	DeliveredOn string     `json:"delivered_on"` // YYYY-MM-DD
	NetKg       float64    `json:"net_kg"`
	LowKg       float64    `json:"low_kg"`
	HighKg      float64    `json:"high_kg"`
	GrossKg     float64    `json:"gross_kg"`
	PerYearKg   float64    `json:"per_year_kg"`
	Params      co2.Result `json:"params"`
	CreatedAt   time.Time  `json:"created_at"`
}

const emissionColumns = `e.id, e.device_id, e.cycle, coalesce(e.handover_id, 0), e.set_id, s.version, e.method_version, e.status,
	e.current, to_char(e.delivered_on, 'YYYY-MM-DD'), e.net_kg::float8, e.low_kg::float8, e.high_kg::float8,
	e.gross_kg::float8, e.per_year_kg::float8, e.params, e.created_at`

// scanEmission scans emissionColumns, then extra (the columns a query
// selects after them).
func scanEmission(row interface{ Scan(...any) error }, extra ...any) (EmissionResult, error) {
	var r EmissionResult
	var params []byte
	err := row.Scan(append([]any{&r.ID, &r.DeviceID, &r.Cycle, &r.HandoverID, &r.SetID, &r.SetVersion, &r.Method, &r.Status,
		&r.Current, &r.DeliveredOn, &r.NetKg, &r.LowKg, &r.HighKg, &r.GrossKg, &r.PerYearKg, &params, &r.CreatedAt}, extra...)...)
	if err == nil {
		err = json.Unmarshal(params, &r.Params)
	}
	return r, err
}

// loadFactorSet reads a factor set's rows and builds it.
func loadFactorSet(tx *gorm.DB, id string) (co2.FactorSet, error) {
	var version string
	if err := tx.Raw(`SELECT version FROM factor_sets WHERE id = ?`, id).Row().Scan(&version); err != nil {
		return co2.FactorSet{}, notFound(err, "emissions.error.set_not_found")
	}
	var cats []co2.Category
	rows, err := tx.Raw(`SELECT category, central_kg::float8, low_kg::float8, high_kg::float8, ref_life_years::float8,
		second_life_years::float8, base_refurb_kg::float8, typical_weight_kg::float8, quality, source
		FROM factor_set_categories WHERE set_id = ? ORDER BY category`, id).Rows()
	if err != nil {
		return co2.FactorSet{}, fmt.Errorf("categories of factor set %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c co2.Category
		if err := rows.Scan(&c.ID, &c.CentralKg, &c.LowKg, &c.HighKg, &c.RefLifeYears, &c.SecondLifeYears, &c.BaseRefurbKg,
			&c.TypicalWeightKg, &c.Quality, &c.Source); err != nil {
			return co2.FactorSet{}, fmt.Errorf("categories of factor set %s: %w", id, err)
		}
		cats = append(cats, c)
	}
	if err := rows.Err(); err != nil {
		return co2.FactorSet{}, err
	}
	var parts []co2.Part
	if err := tx.Raw(`SELECT part AS id, kg_new::float8 AS kg_new, source FROM factor_set_parts WHERE set_id = ? ORDER BY part`, id).
		Scan(&parts).Error; err != nil {
		return co2.FactorSet{}, fmt.Errorf("parts of factor set %s: %w", id, err)
	}
	return co2.NewFactorSet(id, version, cats, parts)
}

// lockActiveFactorSet reads the active set under a share lock: choosing
// another set waits until this transaction ends, so a delivery confirmed
// meanwhile is either computed with the new set or seen by its fill job.
func lockActiveFactorSet(tx *gorm.DB) (co2.FactorSet, error) {
	var id string
	if err := tx.Raw(`SELECT id FROM factor_sets WHERE active FOR SHARE`).Row().Scan(&id); err != nil {
		return co2.FactorSet{}, fmt.Errorf("active factor set: %w", err)
	}
	return loadFactorSet(tx, id)
}

// displacementRate is D calibrated from every answer given at a confirmed
// handover to "Without this donation, what would you have done?"
// (co2.Displacement: the default until enough answers).
func displacementRate(tx *gorm.DB) (float64, error) {
	var boughtNew, secondHand, without int
	if err := tx.Raw(`SELECT count(*) FILTER (WHERE answer = 'bought_new'), count(*) FILTER (WHERE answer = 'bought_second_hand'),
		count(*) FILTER (WHERE answer = 'gone_without') FROM handovers
		WHERE state = 'confirmed' AND answer IN ('bought_new', 'bought_second_hand', 'gone_without')`).Row().
		Scan(&boughtNew, &secondHand, &without); err != nil {
		return 0, fmt.Errorf("displacement answers: %w", err)
	}
	d, _ := co2.Displacement(boughtNew, secondHand, without)
	return d, nil
}

// newPartsOf lists the kinds of the NEW parts fitted to a device in a
// cycle that the set has a figure for (second-hand parts carry no burden;
// kinds the set does not list count like co2.OtherPart: nothing).
func newPartsOf(tx *gorm.DB, set co2.FactorSet, deviceID int64, cycle int) ([]string, error) {
	var kinds []string
	if err := tx.Raw(`SELECT kind FROM device_parts WHERE device_id = ? AND cycle = ? AND condition = 'new' ORDER BY id`,
		deviceID, cycle).Scan(&kinds).Error; err != nil {
		return nil, fmt.Errorf("new parts of device %d: %w", deviceID, err)
	}
	out := kinds[:0]
	for _, k := range kinds {
		if p, ok := set.Part(k); ok && p.KgNew > 0 {
			out = append(out, k)
		}
	}
	return out, nil
}

// emissionRow is what one insertion needs.
type emissionRow struct {
	DeviceID    int64
	Cycle       int
	HandoverID  int64
	DeliveredOn string // YYYY-MM-DD, the handover's day in France
	Status      string
	Result      co2.Result
}

// insertEmission inserts a current result; one that exists already for
// the device, cycle and set is left as it is (a fill job that ran twice).
// It reports whether a row was inserted.
func insertEmission(tx *gorm.DB, r emissionRow) (bool, error) {
	params, err := json.Marshal(r.Result)
	if err != nil {
		return false, err
	}
	res := tx.Exec(`INSERT INTO emission_results (device_id, cycle, handover_id, set_id, method_version, status, delivered_on,
			params, net_kg, low_kg, high_kg, gross_kg, per_year_kg)
		VALUES (?, ?, nullif(?, 0), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (device_id, cycle, set_id) WHERE current DO NOTHING`,
		r.DeviceID, r.Cycle, r.HandoverID, r.Result.FactorSet, r.Result.Method, r.Status, r.DeliveredOn,
		string(params), r.Result.Net, r.Result.Low, r.Result.High, r.Result.Gross, r.Result.PerYear)
	if res.Error != nil {
		return false, fmt.Errorf("insert emission result of device %d: %w", r.DeviceID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// recordHandoverEmissions computes, in the confirmation's transaction,
// the estimated result of every device a handover (just confirmed)
// delivered, with the active set. A device whose category the set lacks
// gets no result: the method has no figure for it.
func recordHandoverEmissions(tx *gorm.DB, handoverID int64) error {
	set, err := lockActiveFactorSet(tx)
	if err != nil {
		return err
	}
	d, err := displacementRate(tx)
	if err != nil {
		return err
	}
	type delivered struct {
		ID          int64
		Cycle       int
		Category    string
		DeliveredOn string
	}
	var ds []delivered
	if err := tx.Raw(`SELECT v.id, v.cycle, v.category, `+deliveredOnColumn+` AS delivered_on FROM reservations x JOIN devices v ON v.id = x.device_id
		JOIN handovers h ON h.id = x.handover_id WHERE x.handover_id = ? AND x.state = 'delivered' ORDER BY v.id`, handoverID).
		Scan(&ds).Error; err != nil {
		return fmt.Errorf("devices of handover %d: %w", handoverID, err)
	}
	for _, v := range ds {
		if _, ok := set.Category(v.Category); !ok {
			continue
		}
		parts, err := newPartsOf(tx, set, v.ID, v.Cycle)
		if err != nil {
			return err
		}
		r, err := set.Compute(co2.Input{Category: v.Category, D: d, NewParts: parts})
		if err != nil {
			return fmt.Errorf("emissions of device %d: %w", v.ID, err)
		}
		if _, err := insertEmission(tx, emissionRow{DeviceID: v.ID, Cycle: v.Cycle, HandoverID: handoverID,
			DeliveredOn: v.DeliveredOn, Status: EmissionEstimated, Result: r}); err != nil {
			return err
		}
	}
	return nil
}

// endSecondLife consolidates, in the transaction of a change of state of a
// locked device, the results its change ends: a delivered device that
// comes back (the only way out of delivered) ends the cycle it was
// delivered in, now; a device recycled or dismantled ends whatever cycle
// is still estimated, at its return. Other changes end nothing.
func endSecondLife(tx *gorm.DB, d lockedDevice, to lifecycle.State) error {
	if d.State != lifecycle.Delivered && to != lifecycle.Recycled && to != lifecycle.Dismantled {
		return nil
	}
	var cycles []int
	if err := tx.Raw(`SELECT DISTINCT cycle FROM emission_results WHERE device_id = ? AND current AND status = 'estimated'
		AND (cycle < ? OR ?) ORDER BY cycle`, d.ID, d.Cycle, d.State == lifecycle.Delivered).Scan(&cycles).Error; err != nil {
		return fmt.Errorf("estimated results of device %d: %w", d.ID, err)
	}
	for _, c := range cycles {
		var end time.Time
		var err error
		if c == d.Cycle {
			err = tx.Raw(`SELECT now()`).Row().Scan(&end)
		} else {
			end, err = cycleEnd(tx, d.ID, c)
		}
		if err != nil {
			return err
		}
		if err := consolidate(tx, d.ID, c, end); err != nil {
			return err
		}
	}
	return nil
}

// cycleEnd is when a past cycle's second life ended: the device's n-th
// return (its n-th delivery's end).
func cycleEnd(tx *gorm.DB, deviceID int64, cycle int) (time.Time, error) {
	var end time.Time
	err := tx.Raw(`SELECT at FROM device_events WHERE device_id = ? AND kind = 'state' AND to_state = 'returned'
		ORDER BY seq OFFSET ? LIMIT 1`, deviceID, cycle-1).Row().Scan(&end)
	if err != nil {
		return time.Time{}, fmt.Errorf("return %d of device %d: %w", cycle, deviceID, err)
	}
	return end, nil
}

// consolidate supersedes every current estimated result of a device's
// cycle (one per factor set) with one computed with the second life
// observed up to end: the same set, displacement rate and parts.
func consolidate(tx *gorm.DB, deviceID int64, cycle int, end time.Time) error {
	var ids []int64
	if err := tx.Raw(`SELECT id FROM emission_results WHERE device_id = ? AND cycle = ? AND current AND status = 'estimated'
		ORDER BY id FOR UPDATE`, deviceID, cycle).Scan(&ids).Error; err != nil {
		return fmt.Errorf("estimated results of device %d: %w", deviceID, err)
	}
	sets := map[string]co2.FactorSet{}
	for _, id := range ids {
		var confirmed time.Time
		old, err := scanEmission(tx.Raw(`SELECT `+emissionColumns+`, coalesce(h.confirmed_at, e.delivered_on::timestamptz)
			FROM emission_results e JOIN factor_sets s ON s.id = e.set_id LEFT JOIN handovers h ON h.id = e.handover_id
			WHERE e.id = ?`, id).Row(), &confirmed)
		if err != nil {
			return fmt.Errorf("emission result %d: %w", id, err)
		}
		set, ok := sets[old.SetID]
		if !ok {
			var err error
			if set, err = loadFactorSet(tx, old.SetID); err != nil {
				return err
			}
			sets[old.SetID] = set
		}
		parts := make([]string, 0, len(old.Params.RParts))
		for _, p := range old.Params.RParts {
			parts = append(parts, p.Part)
		}
		years := observedYears(confirmed, end)
		r, err := set.Compute(co2.Input{Category: old.Params.Category, SecondLifeYears: years, Observed: true,
			D: old.Params.D, NewParts: parts})
		if err != nil {
			return fmt.Errorf("consolidate emissions of device %d: %w", deviceID, err)
		}
		if err := tx.Exec(`UPDATE emission_results SET current = false WHERE id = ?`, id).Error; err != nil {
			return fmt.Errorf("supersede emission result %d: %w", id, err)
		}
		if _, err := insertEmission(tx, emissionRow{DeviceID: deviceID, Cycle: cycle, HandoverID: old.HandoverID,
			DeliveredOn: old.DeliveredOn, Status: EmissionConsolidated, Result: r}); err != nil {
			return err
		}
	}
	return nil
}

// DeviceEmissions returns every result of a device (already checked to be
// in scope): all cycles, sets and statuses, the latest cycle first, then
// the current ones, newest first.
func (db *DB) DeviceEmissions(ctx context.Context, deviceID int64) ([]EmissionResult, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT `+emissionColumns+` FROM emission_results e
		JOIN factor_sets s ON s.id = e.set_id WHERE e.device_id = ? ORDER BY e.cycle DESC, e.current DESC, e.id DESC LIMIT 200`,
		deviceID).Rows()
	if err != nil {
		return nil, fmt.Errorf("emissions of device %d: %w", deviceID, err)
	}
	defer rows.Close()
	out := []EmissionResult{}
	for rows.Next() {
		r, err := scanEmission(rows)
		if err != nil {
			return nil, fmt.Errorf("emissions of device %d: %w", deviceID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CurrentEmission returns the result that counts for a device now: the
// current result of its latest delivery, the active set's when it has one
// (another set's while the fill job has not reached the device); a device
// never delivered has none (ok false).
func (db *DB) CurrentEmission(ctx context.Context, deviceID int64) (EmissionResult, bool, error) {
	r, err := scanEmission(db.gorm.WithContext(ctx).Raw(`SELECT `+emissionColumns+` FROM emission_results e
		JOIN factor_sets s ON s.id = e.set_id WHERE e.device_id = ? AND e.current
		ORDER BY e.cycle DESC, s.active DESC, e.id DESC LIMIT 1`,
		deviceID).Row())
	if isNoRows(err) {
		return EmissionResult{}, false, nil
	}
	if err != nil {
		return EmissionResult{}, false, fmt.Errorf("current emissions of device %d: %w", deviceID, err)
	}
	return r, true, nil
}
