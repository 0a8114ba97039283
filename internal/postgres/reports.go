package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/report"
	"gorm.io/gorm"
)

// The donor report (docs/donor-report.md): for one donor organisation and
// one calendar year of its donations' declarations (Europe/Paris), every
// device given with its fate, certificates and avoided emissions under the
// active factor set. Read-only; scoped so a donor reaches only its own
// organisation (anything else is not found, as if it did not exist).

// errNoReport answers a report the scope does not reach.
var errNoReport = berriz.E(berriz.NotFound, "reports.error.not_found")

// reportOrg loads the donor organisation of a report, within the scope: a
// donor scope reaches its own organisation only, a workshop scope none.
func (db *DB) reportOrg(ctx context.Context, org int64, scope DonationScope) (account.Organisation, error) {
	if scope.WorkshopOrgID != 0 || scope.DonorOrgID != 0 && scope.DonorOrgID != org {
		return account.Organisation{}, errNoReport
	}
	o, err := db.Organisation(ctx, org)
	if berriz.KindOf(err) == berriz.NotFound {
		return o, errNoReport
	}
	if err != nil {
		return o, fmt.Errorf("report organisation %d: %w", org, err)
	}
	if o.Role() != account.RoleDonor {
		return o, errNoReport
	}
	return o, nil
}

// DonorReportYears lists the years (newest first) in which the donor
// organisation declared donations with devices.
func (db *DB) DonorReportYears(ctx context.Context, org int64, scope DonationScope) ([]int, error) {
	if _, err := db.reportOrg(ctx, org, scope); err != nil {
		return nil, err
	}
	var years []int
	err := db.gorm.WithContext(ctx).Raw(`SELECT DISTINCT extract(year FROM d.created_at AT TIME ZONE 'Europe/Paris')::int AS y
		FROM donations d WHERE d.donor_org_id = ? AND EXISTS (SELECT 1 FROM devices v WHERE v.donation_id = d.id)
		ORDER BY y DESC`, org).Scan(&years).Error
	if err != nil {
		return nil, fmt.Errorf("donor report years %d: %w", org, err)
	}
	return years, nil
}

// activeFactorSet names the active set (the one figures are read from).
func activeFactorSet(g *gorm.DB) (id, version string, err error) {
	row := g.Raw(`SELECT id, version FROM factor_sets WHERE active`).Row()
	if err := row.Scan(&id, &version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return co2.FactorSetID, "", nil
		}
		return "", "", fmt.Errorf("active factor set: %w", err)
	}
	return id, version, nil
}

// donorReportQuery reads each device of the donor's donations declared in
// [from, to), with its declared year (the décret's ten-year rule): the latest confirmed delivery of a delivered device (the
// beneficiary's kind and the request's delivery commune, no person), the
// latest erasure certificate, the recycling batch's certificate once
// handed over, and the sum of the device's current results of the set.
const donorReportQuery = `SELECT v.id, v.donation_id, coalesce(t.code, ''), v.category, v.brand, v.model, v.serial,
	v.weight_kg::float8, v.year, v.state, coalesce(del.kind, ''), coalesce(del.commune, ''), del.day,
	coalesce(ec.number, ''), coalesce(ec.verify_token, ''), coalesce(rb.certificate_ref, ''), coalesce(rb.recycler, ''),
	er.n, coalesce(er.net, 0), coalesce(er.low, 0), coalesce(er.high, 0), coalesce(er.estimated, 0)
FROM devices v JOIN donations d ON d.id = v.donation_id
LEFT JOIN tags t ON t.device_id = v.id
LEFT JOIN LATERAL (SELECT o.kind, r.delivery_commune AS commune, (h.confirmed_at AT TIME ZONE 'Europe/Paris')::date AS day
	FROM reservations s JOIN handovers h ON h.id = s.handover_id AND h.state = 'confirmed'
	JOIN request_lines l ON l.id = s.request_line_id JOIN requests r ON r.id = l.request_id
	JOIN organisations o ON o.id = r.beneficiary_org_id
	WHERE s.device_id = v.id AND s.state = 'delivered' AND v.state = 'delivered'
	ORDER BY h.confirmed_at DESC LIMIT 1) del ON true
LEFT JOIN LATERAL (SELECT c.number, c.verify_token FROM erasure_certificates c WHERE c.device_id = v.id
	ORDER BY c.cycle DESC, c.id DESC LIMIT 1) ec ON true
LEFT JOIN recycling_batches rb ON rb.id = v.recycling_batch_id AND rb.state = 'handed_over'
LEFT JOIN LATERAL (SELECT count(*) AS n, sum(e.net_kg)::float8 AS net, sum(e.low_kg)::float8 AS low,
	sum(e.high_kg)::float8 AS high, count(*) FILTER (WHERE e.status = 'estimated') AS estimated
	FROM emission_results e WHERE e.device_id = v.id AND e.current AND e.set_id = ?) er ON true
WHERE d.donor_org_id = ? AND d.created_at >= ? AND d.created_at < ?
ORDER BY d.id, v.line, v.id`

// DonorReport gathers a donor organisation's report for a year; checkURL
// turns an erasure certificate's token into its public check address.
func (db *DB) DonorReport(ctx context.Context, org int64, year int, scope DonationScope, now time.Time,
	checkURL func(token string) string) (report.DonorReport, error) {
	out := report.DonorReport{Year: year, GeneratedAt: now, MethodVersion: co2.MethodVersion, Devices: []report.Device{}}
	if year < 1990 || year > 2100 {
		return out, errNoReport
	}
	o, err := db.reportOrg(ctx, org, scope)
	if err != nil {
		return out, err
	}
	out.Org = report.Organisation{ID: o.ID, Name: o.Name, Kind: string(o.Kind), Commune: o.Commune}
	g := db.gorm.WithContext(ctx)
	if out.FactorSet, out.FactorVersion, err = activeFactorSet(g); err != nil {
		return out, err
	}
	from := time.Date(year, time.January, 1, 0, 0, 0, 0, paris)
	rows, err := g.Raw(donorReportQuery, out.FactorSet, org, from, from.AddDate(1, 0, 0)).Rows()
	if err != nil {
		return out, fmt.Errorf("donor report %d/%d: %w", org, year, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			d              report.Device
			day            sql.NullTime
			made           sql.NullInt32
			token          string
			n, estimated   int
			net, low, high float64
		)
		if err := rows.Scan(&d.ID, &d.Donation, &d.Tag, &d.Category, &d.Brand, &d.Model, &d.Serial, &d.WeightKg, &made, &d.State,
			&d.BeneficiaryKind, &d.Commune, &day, &d.ErasureCertificate, &token, &d.RecyclingCertificate, &d.Recycler,
			&n, &net, &low, &high, &estimated); err != nil {
			return out, fmt.Errorf("donor report %d/%d: %w", org, year, err)
		}
		d.Tag = printedTag(d.Tag)
		if made.Valid {
			y := int(made.Int32)
			d.Year = &y
		}
		d.Fate = report.FateOf(d.State)
		if day.Valid {
			t := day.Time
			d.DeliveredOn = &t
		}
		if token != "" && checkURL != nil {
			d.ErasureCheckURL = checkURL(token)
		}
		if n > 0 {
			st := "consolidated"
			if estimated > 0 {
				st = "estimated"
			}
			d.Emissions = &report.Emissions{NetKg: co2.Round1(net), LowKg: co2.Round1(low), HighKg: co2.Round1(high), Status: st}
		}
		out.Devices = append(out.Devices, d)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("donor report %d/%d: %w", org, year, err)
	}
	out.Summarize()
	return out, nil
}
