package postgres

import (
	"context"
	"fmt"
)

// The open-data export: one row per delivery (a delivered reservation of a
// confirmed handover), anonymous — no id of a device, person or
// organisation, no serial or tag: the month, what it was, the kinds of
// giver and receiver, where it went, its weight and the avoided emissions
// of one factor set. Rows are read by keyset pages of exportPage, so a
// 300,000-row export streams in constant memory without holding one long
// transaction open.

// DeliveryRow is one delivered device in the export.
type DeliveryRow struct {
	Month           string   `json:"month"`
	Category        string   `json:"category"`
	Grade           string   `json:"grade"`
	DonorKind       string   `json:"donor_kind"`
	BeneficiaryKind string   `json:"beneficiary_kind"`
	Commune         string   `json:"commune"`
	WeightKg        float64  `json:"weight_kg"`
	NetKg           *float64 `json:"co2e_net_kg"` // null: no result of the set for this device
	LowKg           *float64 `json:"co2e_low_kg"`
	HighKg          *float64 `json:"co2e_high_kg"`
	FactorSet       string   `json:"factor_set"`
	MethodVersion   string   `json:"method_version"`
}

// DeliveriesQuery filters the export by month of delivery ("YYYY-MM",
// inclusive) and names the factor set ("" is the active one).
type DeliveriesQuery struct {
	From, To  string
	FactorSet string
}

const exportPage = 5000

// ObservatoryDeliveries calls fn with every delivery q selects, oldest
// first; start is called once, before the first row, with the set summed.
func (db *DB) ObservatoryDeliveries(ctx context.Context, q DeliveriesQuery, start func(set, version string) error,
	fn func(DeliveryRow) error) error {
	if err := (TotalsQuery{From: q.From, To: q.To}).Validate(); err != nil {
		return err
	}
	set, version, err := db.factorSetOf(ctx, q.FactorSet)
	if err != nil {
		return err
	}
	if err := start(set, version); err != nil {
		return err
	}
	from, to := "0001-01", "9999-12"
	if q.From != "" {
		from = q.From
	}
	if q.To != "" {
		to = q.To
	}
	// The grade is the one given last before the delivery (grade events
	// keep it; the device's own grade is cleared when it comes back).
	const sql = `SELECT r.id, to_char(observatory_month(h.confirmed_at), 'YYYY-MM'), v.category,
			coalesce((SELECT substring(g.detail FROM '"grade":"([ABC])"') FROM device_events g
				WHERE g.device_id = r.device_id AND g.kind = 'grade' AND g.at <= h.confirmed_at
				ORDER BY g.seq DESC LIMIT 1), v.grade, ''),
			o.kind, b.kind, q.delivery_commune, v.weight_kg::float8,
			x.net_kg::float8, x.low_kg::float8, x.high_kg::float8, coalesce(x.method_version, '')
		FROM reservations r
		JOIN handovers h ON h.id = r.handover_id AND h.state = 'confirmed'
		JOIN requests q ON q.id = h.request_id
		JOIN organisations b ON b.id = q.beneficiary_org_id
		JOIN devices v ON v.id = r.device_id
		JOIN donations d ON d.id = v.donation_id
		JOIN organisations o ON o.id = d.donor_org_id
		LEFT JOIN emission_results x ON x.device_id = r.device_id AND x.handover_id = r.handover_id
			AND x.set_id = ? AND x.current
		WHERE r.state = 'delivered' AND r.id > ?
			AND observatory_month(h.confirmed_at) BETWEEN ?::date AND ?::date
		ORDER BY r.id LIMIT ?`
	var after int64
	for {
		n, last, err := db.deliveriesPage(ctx, sql, set, after, from+"-01", to+"-01", fn)
		if err != nil {
			return err
		}
		if n < exportPage {
			return nil
		}
		after = last
	}
}

func (db *DB) deliveriesPage(ctx context.Context, sql, set string, after int64, from, to string,
	fn func(DeliveryRow) error) (int, int64, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(sql, set, after, from, to, exportPage).Rows()
	if err != nil {
		return 0, 0, fmt.Errorf("observatory deliveries: %w", err)
	}
	defer rows.Close()
	var (
		n    int
		last int64
	)
	for rows.Next() {
		var r DeliveryRow
		if err := rows.Scan(&last, &r.Month, &r.Category, &r.Grade, &r.DonorKind, &r.BeneficiaryKind, &r.Commune,
			&r.WeightKg, &r.NetKg, &r.LowKg, &r.HighKg, &r.MethodVersion); err != nil {
			return 0, 0, fmt.Errorf("observatory deliveries: %w", err)
		}
		if r.NetKg != nil {
			r.FactorSet = set
		}
		n++
		if err := fn(r); err != nil {
			return 0, 0, err
		}
	}
	return n, last, rows.Err()
}
