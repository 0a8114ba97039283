package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/tag"
)

// TagView is what a scanned tag leads to. Every scan of every phone and
// station asks for it, so it is the hottest read of the platform: a linked
// tag costs one round trip over primary keys only; a blank tag (intake
// time, far rarer) a second, small one for who generated it.
type TagView struct {
	// Tag's OrgID (who generated it) is set for blank tags only: a
	// linked tag is the device's, whoever printed it.
	Tag Tag
	// OwnerKind is the kind of the organisation that generated a blank
	// tag: a workshop may link its own blank tags and those of the
	// operator.
	OwnerKind account.OrgKind
	// Device is the linked device with its specs and drives; nil while
	// the tag is blank.
	Device *DeviceDetail
}

// tagViewQuery joins the tag and, once linked, the device, its donation,
// its workshop and its drives (aggregated, so the answer stays one row).
// The scope applies to linked tags only, with the same rule as
// donationScopeCond: blank tags belong to no donation.
const tagViewQuery = `SELECT t.code, t.batch_id, t.device_id, t.linked_at, t.created_at,
	coalesce(v.id, 0), coalesce(v.donation_id, 0), coalesce(v.line, 0), coalesce(v.category, ''), coalesce(v.brand, ''),
	coalesce(v.model, ''), coalesce(v.serial, ''), coalesce(v.year, 0), coalesce(v.storage_drives, 0),
	coalesce(v.weight_kg, 0)::float8, coalesce(v.notes, ''), coalesce(v.state, ''), v.created_at,
	coalesce(d.title, ''), coalesce(d.workshop_org_id, 0), coalesce(w.name, ''), coalesce(d.donor_org_id, 0),
	coalesce(v.cpu, ''), v.ram_gb, v.screen_inches::float8, v.battery_health_pct, coalesce(v.os, ''),
	coalesce(v.condition_notes, ''), v.updated_at, coalesce(v.version, 0), coalesce(v.cycle, 0), coalesce(v.grade, ''),
	coalesce(v.grade_suggested, ''), coalesce(v.grade_reason, ''), coalesce(v.location, ''), v.state_since,
	coalesce(v.recycling_batch_id, 0),
	(SELECT json_agg(json_build_object('position', r.position, 'type', r.type, 'capacity_gb', r.capacity_gb,
		'serial', r.serial) ORDER BY r.position) FROM device_drives r WHERE r.device_id = v.id)
FROM tags t LEFT JOIN devices v ON v.id = t.device_id LEFT JOIN donations d ON d.id = v.donation_id
	LEFT JOIN organisations w ON w.id = d.workshop_org_id
WHERE t.code = $1 AND (t.device_id IS NULL
	OR ($2::bigint = 0 OR d.donor_org_id = $2::bigint) AND ($3::bigint = 0 OR d.workshop_org_id = $3::bigint))`

// TagView returns the tag with the given code and, once linked, its
// device in full, as Device returns it (the drives' JSON keys above are
// device.Drive's; a test holds the two answers equal). A tag linked to a
// device outside the scope is not found, exactly as an unknown code: a
// code's existence is never revealed. A blank tag is returned whoever
// asks, with who generated it, for the caller to decide who may use it.
func (db *DB) TagView(ctx context.Context, code tag.Code, scope DonationScope) (TagView, error) {
	var (
		out                TagView
		t                  = &out.Tag
		dd                 DeviceDetail
		rawCode            string
		vCreated, vUpdated *time.Time
		stateSince         *time.Time
		ram, battery       *int
		screen             *float64
		drives             []byte
		linkedAt           *time.Time
		deviceID           *int64
		tagCreated         time.Time
	)
	// pgx directly, not database/sql: devicepage.go says why.
	err := db.pool.QueryRow(ctx, tagViewQuery, string(code), scope.DonorOrgID, scope.WorkshopOrgID).Scan(
		&rawCode, &t.BatchID, &deviceID, &linkedAt, &tagCreated,
		&dd.ID, &dd.DonationID, &dd.Line, &dd.Category, &dd.Brand, &dd.Model, &dd.Serial, &dd.Year, &dd.StorageDrives,
		&dd.WeightKg, &dd.Notes, &dd.State, &vCreated,
		&dd.DonationTitle, &dd.WorkshopOrgID, &dd.WorkshopName, &dd.DonorOrgID,
		&dd.Specs.CPU, &ram, &screen, &battery, &dd.Specs.OS, &dd.Specs.ConditionNotes, &vUpdated,
		&dd.Version, &dd.Cycle, &dd.Grade, &dd.GradeSuggested, &dd.GradeReason, &dd.Location, &stateSince, &dd.RecyclingBatchID,
		&drives)
	if err != nil {
		return TagView{}, fmt.Errorf("tag view %s: %w", code, notFound(err, "error.tag_unknown"))
	}
	t.Code, t.CreatedAt, t.LinkedAt = tag.Code(rawCode), tagCreated, linkedAt
	if deviceID == nil {
		var kind string
		if err := db.pool.QueryRow(ctx, `SELECT b.organisation_id, o.kind FROM tag_batches b
			JOIN organisations o ON o.id = b.organisation_id WHERE b.id = $1`, t.BatchID).Scan(&t.OrgID, &kind); err != nil {
			return TagView{}, fmt.Errorf("owner of tag %s: %w", code, err)
		}
		out.OwnerKind = account.OrgKind(kind)
		return out, nil
	}
	t.DeviceID = deviceID
	dd.CreatedAt, dd.UpdatedAt, dd.StateSince, dd.Tag = deref(vCreated), deref(vUpdated), deref(stateSince), rawCode
	dd.Specs.RAMGB, dd.Specs.BatteryHealthPct, dd.Specs.ScreenInches = ram, battery, screen
	if drives != nil {
		if err := json.Unmarshal(drives, &dd.Specs.Drives); err != nil {
			return TagView{}, fmt.Errorf("drives of tag %s: %w", code, err)
		}
	}
	out.Device = &dd
	return out, nil
}

// deref is *p, or the zero value for nil (a NULL column).
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
