package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/tag"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
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

// tagViewColumns and tagViewFrom read the tag and, once linked, the
// device, its donation, its workshop and its drives (aggregated, so the
// answer stays one row), in tagViewRow's order. No scope: TagView.Within
// applies it to what was read (blank tags belong to no donation).
const tagViewColumns = `t.code, t.batch_id, t.device_id, t.linked_at, t.created_at,
	coalesce(v.id, 0), coalesce(v.donation_id, 0), coalesce(v.line, 0), coalesce(v.category, ''), coalesce(v.brand, ''),
	coalesce(v.model, ''), coalesce(v.serial, ''), coalesce(v.year, 0), coalesce(v.storage_drives, 0),
	coalesce(v.weight_kg, 0)::float8, coalesce(v.notes, ''), coalesce(v.state, ''), v.created_at,
	coalesce(d.title, ''), coalesce(d.workshop_org_id, 0), coalesce(w.name, ''), coalesce(d.donor_org_id, 0),
	coalesce(v.cpu, ''), v.ram_gb, v.screen_inches::float8, v.battery_health_pct, coalesce(v.os, ''),
	coalesce(v.condition_notes, ''), v.updated_at, coalesce(v.version, 0), coalesce(v.cycle, 0), coalesce(v.grade, ''),
	coalesce(v.grade_suggested, ''), coalesce(v.grade_reason, ''), coalesce(v.location, ''), v.state_since,
	coalesce(v.recycling_batch_id, 0), ` + drivesJSONColumn

const tagViewFrom = ` tags t LEFT JOIN devices v ON v.id = t.device_id LEFT JOIN donations d ON d.id = v.donation_id
	LEFT JOIN organisations w ON w.id = d.workshop_org_id`

// TagViewQuery is the statement TagView runs ($1: the tag's code),
// exported for the lookup benchmark's floor, which runs the same SELECT
// in a bare handler (docs/benchmarks.md).
const TagViewQuery = `SELECT ` + tagViewColumns + ` FROM` + tagViewFrom + ` WHERE t.code = $1`

// tagViewRow holds one row of tagViewColumns as scanned. Nullable
// columns scan into pgtype's values, not pointers: pgx plans a pointer
// to a pointer anew, with allocations, for every row of every query.
type tagViewRow struct {
	out                TagView
	dd                 DeviceDetail
	rawCode            string
	vCreated, vUpdated pgtype.Timestamptz
	stateSince         pgtype.Timestamptz
	ram, battery       pgtype.Int4
	screen             pgtype.Float8
	drives             []byte
	linkedAt           pgtype.Timestamptz
	deviceID           pgtype.Int8
	tagCreated         time.Time
}

// dests are the scan destinations of tagViewColumns.
func (r *tagViewRow) dests() []any {
	t, dd := &r.out.Tag, &r.dd
	return []any{&r.rawCode, &t.BatchID, &r.deviceID, &r.linkedAt, &r.tagCreated,
		&dd.ID, &dd.DonationID, &dd.Line, &dd.Category, &dd.Brand, &dd.Model, &dd.Serial, &dd.Year, &dd.StorageDrives,
		&dd.WeightKg, &dd.Notes, &dd.State, &r.vCreated,
		&dd.DonationTitle, &dd.WorkshopOrgID, &dd.WorkshopName, &dd.DonorOrgID,
		&dd.Specs.CPU, &r.ram, &r.screen, &r.battery, &dd.Specs.OS, &dd.Specs.ConditionNotes, &r.vUpdated,
		&dd.Version, &dd.Cycle, &dd.Grade, &dd.GradeSuggested, &dd.GradeReason, &dd.Location, &r.stateSince, &dd.RecyclingBatchID,
		&r.drives}
}

// view finishes a scanned row: the device with its drives, or, for a
// blank tag, who generated it (a second, small query: intake time, far
// rarer than scans of linked tags).
func (db *DB) view(ctx context.Context, r *tagViewRow, code tag.Code) (TagView, error) {
	out, dd := r.out, r.dd
	t := &out.Tag
	t.Code, t.CreatedAt, t.LinkedAt = tag.Code(r.rawCode), r.tagCreated, nullable(r.linkedAt.Time, r.linkedAt.Valid)
	if !r.deviceID.Valid {
		var kind string
		if err := db.pool.QueryRow(ctx, `SELECT b.organisation_id, o.kind FROM tag_batches b
			JOIN organisations o ON o.id = b.organisation_id WHERE b.id = $1`, t.BatchID).Scan(&t.OrgID, &kind); err != nil {
			return TagView{}, fmt.Errorf("owner of tag %s: %w", code, err)
		}
		out.OwnerKind = account.OrgKind(kind)
		return out, nil
	}
	t.DeviceID = nullable(r.deviceID.Int64, true)
	dd.CreatedAt, dd.UpdatedAt, dd.StateSince, dd.Tag = r.vCreated.Time, r.vUpdated.Time, r.stateSince.Time, r.rawCode
	dd.Specs.RAMGB, dd.Specs.BatteryHealthPct = nullable(int(r.ram.Int32), r.ram.Valid), nullable(int(r.battery.Int32), r.battery.Valid)
	dd.Specs.ScreenInches = nullable(r.screen.Float64, r.screen.Valid)
	if r.drives != nil {
		if err := json.Unmarshal(r.drives, &dd.Specs.Drives); err != nil {
			return TagView{}, fmt.Errorf("drives of tag %s: %w", code, err)
		}
	}
	out.Device = &dd
	return out, nil
}

// Within is what of the view the scope may see: a tag linked to a device
// outside the scope is not found, exactly as an unknown code (a code's
// existence is never revealed); a blank tag is returned whoever asks,
// with who generated it, for the caller to decide who may use it.
func (tv TagView) Within(sc DonationScope) (TagView, error) {
	if d := tv.Device; d != nil && !sc.holds(d.DonorOrgID, d.WorkshopOrgID) {
		return TagView{}, fmt.Errorf("tag view %s: %w", tv.Tag.Code, berriz.E(berriz.NotFound, "error.tag_unknown"))
	}
	return tv, nil
}

// TagView returns the tag with the given code and, once linked, its
// device in full, as Device returns it (the drives' JSON keys are
// device.Drive's; a test holds the two answers equal), as far as the
// scope may see it (Within). One round trip for a linked tag, over
// primary keys only.
func (db *DB) TagView(ctx context.Context, code tag.Code, scope DonationScope) (TagView, error) {
	var r tagViewRow
	// pgx directly, not database/sql: devicepage.go says why.
	start := time.Now()
	err := db.pool.QueryRow(ctx, TagViewQuery, string(code)).Scan(r.dests()...)
	db.traced(ctx, "tag view", start, err)
	if err != nil {
		return TagView{}, fmt.Errorf("tag view %s: %w", code, notFound(err, "error.tag_unknown"))
	}
	tv, err := db.view(ctx, &r, code)
	if err != nil {
		return TagView{}, err
	}
	return tv.Within(scope)
}

// TokenTagView reads a bearer token and a tag in one statement — every
// scan of a phone or station through the API asks both, and one round
// trip instead of two halves what PostgreSQL and the kernels spend on it
// (docs/benchmarks.md). It returns the token's principal (as
// TokenPrincipal) and the whole view, for the caller to take Within the
// principal's scope: nothing of it is answered before. When the statement
// finds no row, the token alone is read again to tell an invalid token
// (Unauthorized, no principal) from an unknown code (the principal and
// NotFound).
func (db *DB) TokenTagView(ctx context.Context, hash []byte, now time.Time, code tag.Code) (*account.Principal, TagView, error) {
	var r tagViewRow
	p, err := db.joinedRead(ctx, "token and tag", now, &tokenRow{}, tokenTagViewQuery, []any{hash, string(code)},
		func(row pgx.Row, token []any) error { return row.Scan(append(token, r.dests()...)...) },
		func() (*account.Principal, error) { return db.TokenPrincipal(ctx, hash, now) },
		func() error {
			return fmt.Errorf("tag view %s: %w", code, berriz.E(berriz.NotFound, "error.tag_unknown"))
		})
	if p == nil || err != nil {
		return p, TagView{}, err
	}
	tv, err := db.view(ctx, &r, code)
	return p, tv, err
}

const tokenTagViewQuery = `SELECT ` + tokenColumnsK + `, ` + tagViewColumns + ` FROM` + tokenFromK + `,` + tagViewFrom + `
	WHERE ` + tokenLiveK + ` AND t.code = $2`

// nullable is a pointer to a copy of a nullable column's value (nothing
// of the row it was scanned into), nil for NULL.
func nullable[T any](v T, valid bool) *T {
	if !valid {
		return nil
	}
	return &v
}
