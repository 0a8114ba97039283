package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/co2"
	"gorm.io/gorm"
)

// Filling the results of a newly active factor set: every delivered
// device (every delivery of it: a cycle) gets a result of the active set
// if it lacks one, without touching any other row. A territory may hold
// 300,000 deliveries, so the background job does it in batches, each its
// own transaction: one filler at a time (a transaction-level advisory
// lock: a second instance skips its turn), devices locked with SKIP LOCKED
// (a device changing state meanwhile is done at a later batch, never
// waited for), and the unique index on current results makes a batch run
// twice harmless. When a pass from the start finds nothing missing, the
// set's filled_at is set and later ticks cost one read.

// fillLockID is the advisory lock of the filler ("emisfill").
const fillLockID = 0x656d697366696c6c

// FillResult is what one batch did.
type FillResult struct {
	SetID  string `json:"factor_set"`
	Filled int    `json:"filled"` // results inserted
	// Next is the last device id looked at, to start the next batch after;
	// 0 when none was left after the one given.
	Next int64 `json:"next"`
	// Done: the active set's results are complete (filled_at is set), or
	// another instance is filling them.
	Done bool `json:"done"`
}

// deliveriesCTE numbers each device's confirmed deliveries: the n-th is
// cycle n (devices.cycle, incremented by each return, is n at the n-th
// delivery).
const deliveriesCTE = `WITH deliveries AS (
	SELECT x.device_id, h.id AS handover_id, h.confirmed_at,
		row_number() OVER (PARTITION BY x.device_id ORDER BY h.confirmed_at, h.id) AS cycle
	FROM reservations x JOIN handovers h ON h.id = x.handover_id AND h.state = 'confirmed'
	WHERE x.state = 'delivered' AND x.device_id > ?)`

// missingCond keeps the deliveries whose category the set knows and that
// have no current result of the set.
const missingCond = ` v.category IN (SELECT category FROM factor_set_categories WHERE set_id = ?)
	AND NOT EXISTS (SELECT 1 FROM emission_results e WHERE e.device_id = d.device_id AND e.cycle = d.cycle
		AND e.set_id = ? AND e.current)`

// FillEmissions computes, in one transaction, the missing results of the
// active set for at most limit devices whose id is above after.
func (db *DB) FillEmissions(ctx context.Context, after int64, limit int) (FillResult, error) {
	var out FillResult
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var mine bool
		if err := tx.Raw(`SELECT pg_try_advisory_xact_lock(?)`, int64(fillLockID)).Row().Scan(&mine); err != nil {
			return err
		}
		if !mine {
			out.Done = true
			return nil
		}
		err := tx.Raw(`SELECT id FROM factor_sets WHERE active AND filled_at IS NULL FOR SHARE`).Row().Scan(&out.SetID)
		if isNoRows(err) {
			out.Done = true
			return nil
		}
		if err != nil {
			return err
		}
		var candidates []int64
		if err := tx.Raw(deliveriesCTE+` SELECT DISTINCT d.device_id FROM deliveries d JOIN devices v ON v.id = d.device_id
			WHERE`+missingCond+` ORDER BY d.device_id LIMIT ?`, after, out.SetID, out.SetID, limit).Scan(&candidates).Error; err != nil {
			return fmt.Errorf("deliveries without results: %w", err)
		}
		if len(candidates) == 0 {
			if after == 0 {
				out.Done = true
				return tx.Exec(`UPDATE factor_sets SET filled_at = now() WHERE id = ?`, out.SetID).Error
			}
			return nil
		}
		out.Next = candidates[len(candidates)-1]
		var locked []int64
		if err := tx.Raw(`SELECT id FROM devices WHERE id IN ? ORDER BY id FOR NO KEY UPDATE SKIP LOCKED`, candidates).
			Scan(&locked).Error; err != nil {
			return err
		}
		if len(locked) == 0 {
			return nil
		}
		out.Filled, err = fillDevices(tx, out.SetID, locked)
		return err
	})
	if err != nil {
		return FillResult{}, fmt.Errorf("fill emission results: %w", err)
	}
	return out, nil
}

// fillDevices computes the missing results of locked devices. A cycle
// that already ended (the device came back since) is consolidated at once
// with the second life observed up to its return; the displacement rate is
// the one another set's result of the same delivery used, so that two
// sets differ only by their factors.
func fillDevices(tx *gorm.DB, setID string, devices []int64) (int, error) {
	set, err := loadFactorSet(tx, setID)
	if err != nil {
		return 0, err
	}
	type missing struct {
		DeviceID    int64
		HandoverID  int64
		ConfirmedAt time.Time
		DeliveredOn string
		Cycle       int
		Category    string
		Now         int // the device's cycle now
		D           *float64
	}
	var ms []missing
	if err := tx.Raw(deliveriesCTE+` SELECT d.device_id, d.handover_id, d.confirmed_at,
			to_char((d.confirmed_at AT TIME ZONE 'Europe/Paris')::date, 'YYYY-MM-DD') AS delivered_on, d.cycle, v.category, v.cycle AS now,
			(SELECT (o.params->>'d')::float8 FROM emission_results o WHERE o.device_id = d.device_id AND o.cycle = d.cycle
				ORDER BY o.id LIMIT 1) AS d
		FROM deliveries d JOIN devices v ON v.id = d.device_id
		WHERE d.device_id IN ? AND`+missingCond+` ORDER BY d.device_id, d.cycle`, 0, devices, setID, setID).
		Scan(&ms).Error; err != nil {
		return 0, fmt.Errorf("deliveries without results: %w", err)
	}
	var rate *float64
	n := 0
	for _, m := range ms {
		in := co2.Input{Category: m.Category}
		if m.D != nil {
			in.D = *m.D
		} else {
			if rate == nil {
				r, err := displacementRate(tx)
				if err != nil {
					return 0, err
				}
				rate = &r
			}
			in.D = *rate
		}
		if in.NewParts, err = newPartsOf(tx, set, m.DeviceID, m.Cycle); err != nil {
			return 0, err
		}
		status := EmissionEstimated
		if m.Now > m.Cycle {
			end, err := cycleEnd(tx, m.DeviceID, m.Cycle)
			if err != nil {
				return 0, err
			}
			in.SecondLifeYears, in.Observed = observedYears(m.ConfirmedAt, end), true
			status = EmissionConsolidated
		}
		r, err := set.Compute(in)
		if err != nil {
			return 0, fmt.Errorf("emissions of device %d: %w", m.DeviceID, err)
		}
		ok, err := insertEmission(tx, emissionRow{DeviceID: m.DeviceID, Cycle: m.Cycle, HandoverID: m.HandoverID,
			DeliveredOn: m.DeliveredOn, Status: status, Result: r})
		if err != nil {
			return 0, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// FillAllEmissions runs FillEmissions batch after batch until the active
// set's results are complete or maxBatches ran (the job's share of a
// tick); it returns how many results were inserted.
func (db *DB) FillAllEmissions(ctx context.Context, batch, maxBatches int) (int, error) {
	var after int64
	total := 0
	for range maxBatches {
		r, err := db.FillEmissions(ctx, after, batch)
		if err != nil {
			return total, err
		}
		total += r.Filled
		if r.Done {
			return total, nil
		}
		after = r.Next // 0 after the last batch: a pass from the start checks that none is left
	}
	return total, nil
}
