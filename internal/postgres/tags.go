package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/tag"
	"gorm.io/gorm"
)

// MaxTagBatch is the largest batch of blank tags generated at once: about
// 40 A4 sheets, more than any workshop prints in a go.
const MaxTagBatch = 1000

// maxTagRounds bounds the retries of a batch whose codes keep colliding: with
// 40-bit random codes a second round is already rare, so a generator that
// keeps repeating itself is broken.
const maxTagRounds = 20

// TagBatch is a batch of blank tags generated together, by a workshop or
// the operator.
type TagBatch struct {
	ID            int64     `json:"id"`
	OrgID         int64     `json:"organisation_id"`
	OrgName       string    `json:"organisation_name"`
	CreatedByName string    `json:"created_by"` // "" once the user is deleted
	CreatedAt     time.Time `json:"created_at"`
	Count         int       `json:"count"`
	Linked        int       `json:"linked"` // tags already linked to a device
}

// Tag is one QR tag: blank until intake links it to a device, for life.
type Tag struct {
	Code      tag.Code   `json:"code"`
	BatchID   int64      `json:"batch_id"`
	OrgID     int64      `json:"organisation_id"` // who generated it
	DeviceID  *int64     `json:"device_id"`
	LinkedAt  *time.Time `json:"linked_at"`
	CreatedAt time.Time  `json:"created_at"`
}

const tagBatchColumns = `b.id, b.organisation_id, o.name, coalesce(u.name, ''), b.created_at, b.count,
	(SELECT count(*) FROM tags t WHERE t.batch_id = b.id AND t.device_id IS NOT NULL)`

const tagBatchFrom = ` FROM tag_batches b JOIN organisations o ON o.id = b.organisation_id
	LEFT JOIN users u ON u.id = b.created_by `

func scanTagBatch(s interface{ Scan(...any) error }) (TagBatch, error) {
	var b TagBatch
	err := s.Scan(&b.ID, &b.OrgID, &b.OrgName, &b.CreatedByName, &b.CreatedAt, &b.Count, &b.Linked)
	return b, err
}

// CreateTagBatch generates count new codes with gen and stores them as one
// batch of orgID's, in one transaction. A code that already exists (in any
// batch, ever) or repeats within the batch is replaced by a new one, so no
// code is ever handed out twice. createdBy is 0 for no user.
func (db *DB) CreateTagBatch(ctx context.Context, orgID, createdBy int64, count int, gen func() (tag.Code, error)) (TagBatch, []tag.Code, error) {
	if count < 1 || count > MaxTagBatch {
		return TagBatch{}, nil, &berriz.Error{Kind: berriz.Invalid, Message: "error.invalid_fields",
			Fields: map[string]string{"count": "error.tag_count"}}
	}
	var b TagBatch
	var codes []tag.Code
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		codes = codes[:0]
		var creator any
		if createdBy != 0 {
			creator = createdBy
		}
		row := tx.Raw(`INSERT INTO tag_batches (organisation_id, created_by, count) VALUES (?, ?, ?) RETURNING id`,
			orgID, creator, count).Row()
		if err := row.Scan(&b.ID); err != nil {
			return notFound(err, "error.org_not_found")
		}
		var err error
		if codes, err = generateTags(tx, b.ID, count, gen); err != nil {
			return err
		}
		row = tx.Raw(`SELECT `+tagBatchColumns+tagBatchFrom+`WHERE b.id = ?`, b.ID).Row()
		b, err = scanTagBatch(row)
		return err
	})
	if err != nil {
		return TagBatch{}, nil, fmt.Errorf("create tag batch of %d for organisation %d: %w", count, orgID, err)
	}
	return b, codes, nil
}

// generateTags stores count new blank codes of gen in the batch and returns
// them in generation order. A code that already exists (in any batch, ever)
// or repeats within the batch is replaced by a new one.
func generateTags(tx *gorm.DB, batchID int64, count int, gen func() (tag.Code, error)) ([]tag.Code, error) {
	var codes []tag.Code
	taken := map[tag.Code]bool{}
	for round := 0; len(codes) < count; round++ {
		if round == maxTagRounds {
			return nil, fmt.Errorf("tag codes still colliding after %d rounds", maxTagRounds)
		}
		var fresh []tag.Code
		for tries := 0; len(fresh) < count-len(codes) && tries < 4*count; tries++ {
			c, err := gen()
			if err != nil {
				return nil, err
			}
			if !c.Valid() {
				return nil, fmt.Errorf("generator returned invalid code %q", c)
			}
			if !taken[c] {
				taken[c] = true
				fresh = append(fresh, c)
			}
		}
		inserted, err := insertTags(tx, batchID, fresh)
		if err != nil {
			return nil, err
		}
		codes = append(codes, inserted...)
	}
	return codes, nil
}

// MaxDeviceTags is the largest batch of tags printed for chosen devices at
// once: a donation's devices beyond it take another batch.
const MaxDeviceTags = 500

// CreateTagsForDevices generates one tag per device, linked to it from the
// start (tags printed for chosen existing devices), as one batch of orgID's,
// in one transaction: codes[i] is the tag of deviceIDs[i]. Every device
// must be one the scope may see (else NotFound) and have no tag yet (else
// Conflict): one refusal refuses the whole batch. The devices' state does
// not change: they stay declared until the "receive" card or intake.
// createdBy is 0 for no user.
func (db *DB) CreateTagsForDevices(ctx context.Context, orgID, createdBy int64, deviceIDs []int64, scope DonationScope,
	gen func() (tag.Code, error)) (TagBatch, []tag.Code, error) {
	n := len(deviceIDs)
	if n < 1 || n > MaxDeviceTags {
		return TagBatch{}, nil, berriz.E(berriz.Invalid, "donation.error.tag_devices_count")
	}
	seen := make(map[int64]bool, n)
	for _, id := range deviceIDs {
		if seen[id] {
			return TagBatch{}, nil, berriz.E(berriz.Invalid, "donation.error.tag_devices_count")
		}
		seen[id] = true
	}
	var b TagBatch
	var codes []tag.Code
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		// Lock the devices (in id order, as every other locker of several
		// rows would) so that no intake links one of them meanwhile.
		var found []int64
		err := tx.Raw(`SELECT v.id FROM devices v JOIN donations d ON d.id = v.donation_id
			WHERE v.id IN ? AND `+donationScopeCond+` ORDER BY v.id FOR UPDATE OF v`,
			append([]any{deviceIDs}, scope.args()...)...).Scan(&found).Error
		if err != nil {
			return err
		}
		if len(found) != n {
			return berriz.E(berriz.NotFound, "scan.error.device_not_found")
		}
		var tagged int64
		if err := tx.Raw(`SELECT count(*) FROM tags WHERE device_id IN ?`, deviceIDs).Row().Scan(&tagged); err != nil {
			return err
		}
		if tagged > 0 {
			return berriz.E(berriz.Conflict, "scan.error.device_already_tagged")
		}
		var creator any
		if createdBy != 0 {
			creator = createdBy
		}
		if err := tx.Raw(`INSERT INTO tag_batches (organisation_id, created_by, count) VALUES (?, ?, ?) RETURNING id`,
			orgID, creator, n).Row().Scan(&b.ID); err != nil {
			return notFound(err, "error.org_not_found")
		}
		if codes, err = generateTags(tx, b.ID, n, gen); err != nil {
			return err
		}
		values := make([]string, n)
		args := make([]any, 0, 2*n)
		for i, c := range codes {
			values[i] = "(?::text, ?::bigint)"
			args = append(args, string(c), deviceIDs[i])
		}
		res := tx.Exec(`UPDATE tags t SET device_id = x.device, linked_at = now()
			FROM (VALUES `+strings.Join(values, ", ")+`) AS x(code, device) WHERE t.code = x.code`, args...)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != int64(n) {
			return fmt.Errorf("linked %d tags of %d", res.RowsAffected, n)
		}
		b, err = scanTagBatch(tx.Raw(`SELECT `+tagBatchColumns+tagBatchFrom+`WHERE b.id = ?`, b.ID).Row())
		return err
	})
	if err != nil {
		return TagBatch{}, nil, fmt.Errorf("create tags for %d devices for organisation %d: %w", n, orgID, err)
	}
	return b, codes, nil
}

// UntaggedDevices returns the ids of a donation's devices that have no tag
// yet, in declaration order, at most limit of them, and how many there are
// in all; a donation outside the scope has none.
func (db *DB) UntaggedDevices(ctx context.Context, donationID int64, scope DonationScope, limit int) ([]int64, int, error) {
	cond := ` FROM devices v JOIN donations d ON d.id = v.donation_id WHERE v.donation_id = ? AND ` + donationScopeCond +
		` AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.device_id = v.id)`
	args := append([]any{donationID}, scope.args()...)
	g := db.gorm.WithContext(ctx)
	var total int
	if err := g.Raw(`SELECT count(*)`+cond, args...).Row().Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count untagged devices of donation %d: %w", donationID, err)
	}
	var ids []int64
	if limit <= 0 {
		return nil, total, nil
	}
	if err := g.Raw(`SELECT v.id`+cond+` ORDER BY v.id LIMIT ?`, append(args, limit)...).Scan(&ids).Error; err != nil {
		return nil, 0, fmt.Errorf("untagged devices of donation %d: %w", donationID, err)
	}
	return ids, total, nil
}

// insertTags inserts the codes that are new and returns them; the others
// already belong to some batch.
func insertTags(tx *gorm.DB, batchID int64, codes []tag.Code) ([]tag.Code, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	values := make([]string, len(codes))
	args := make([]any, 0, 2*len(codes))
	for i, c := range codes {
		values[i] = "(?, ?)"
		args = append(args, string(c), batchID)
	}
	rows, err := tx.Raw(`INSERT INTO tags (code, batch_id) VALUES `+strings.Join(values, ", ")+
		` ON CONFLICT (code) DO NOTHING RETURNING code`, args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := map[tag.Code]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		got[tag.Code(c)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Keep the generation order, which is the printing order.
	out := make([]tag.Code, 0, len(got))
	for _, c := range codes {
		if got[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// TagBatches returns one page of batches, newest first: orgScope's own, or
// every organisation's for 0 (operators).
func (db *DB) TagBatches(ctx context.Context, orgScope int64, page int) ([]TagBatch, Page, error) {
	p := Page{Number: max(page, 1)}
	g := db.gorm.WithContext(ctx)
	cond := `(? = 0 OR b.organisation_id = ?)`
	if err := g.Raw(`SELECT count(*) FROM tag_batches b WHERE `+cond, orgScope, orgScope).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count tag batches: %w", err)
	}
	rows, err := g.Raw(`SELECT `+tagBatchColumns+tagBatchFrom+`WHERE `+cond+` ORDER BY b.created_at DESC, b.id DESC LIMIT ? OFFSET ?`,
		orgScope, orgScope, PageSize, offset(page)).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("list tag batches: %w", err)
	}
	defer rows.Close()
	var out []TagBatch
	for rows.Next() {
		b, err := scanTagBatch(rows)
		if err != nil {
			return nil, p, fmt.Errorf("list tag batches: %w", err)
		}
		out = append(out, b)
	}
	return out, p, rows.Err()
}

// TagBatch returns one batch if orgScope may see it (0: any): another
// organisation's batch is not found, as if it did not exist.
func (db *DB) TagBatch(ctx context.Context, id, orgScope int64) (TagBatch, error) {
	row := db.gorm.WithContext(ctx).Raw(`SELECT `+tagBatchColumns+tagBatchFrom+`WHERE b.id = ? AND (? = 0 OR b.organisation_id = ?)`,
		id, orgScope, orgScope).Row()
	b, err := scanTagBatch(row)
	if err != nil {
		return TagBatch{}, fmt.Errorf("tag batch %d: %w", id, notFound(err, "error.tag_batch_not_found"))
	}
	return b, nil
}

// BatchCodes returns every code of a batch in printing order (by code), or
// NotFound when orgScope may not see the batch.
func (db *DB) BatchCodes(ctx context.Context, batchID, orgScope int64) ([]tag.Code, error) {
	if _, err := db.TagBatch(ctx, batchID, orgScope); err != nil {
		return nil, err
	}
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT code FROM tags WHERE batch_id = ? ORDER BY code`, batchID).Rows()
	if err != nil {
		return nil, fmt.Errorf("codes of tag batch %d: %w", batchID, err)
	}
	defer rows.Close()
	var out []tag.Code
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("codes of tag batch %d: %w", batchID, err)
		}
		out = append(out, tag.Code(c))
	}
	return out, rows.Err()
}

const tagColumns = `t.code, t.batch_id, b.organisation_id, t.device_id, t.linked_at, t.created_at`

func scanTag(s interface{ Scan(...any) error }) (Tag, error) {
	var t Tag
	var code string
	err := s.Scan(&code, &t.BatchID, &t.OrgID, &t.DeviceID, &t.LinkedAt, &t.CreatedAt)
	t.Code = tag.Code(code)
	return t, err
}

// BatchTags returns one page of a batch's tags, by code, or NotFound when
// orgScope may not see the batch.
func (db *DB) BatchTags(ctx context.Context, batchID, orgScope int64, page int) ([]Tag, Page, error) {
	b, err := db.TagBatch(ctx, batchID, orgScope)
	if err != nil {
		return nil, Page{}, err
	}
	p := Page{Number: max(page, 1), Total: b.Count}
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT `+tagColumns+` FROM tags t JOIN tag_batches b ON b.id = t.batch_id
		WHERE t.batch_id = ? ORDER BY t.code LIMIT ? OFFSET ?`, batchID, PageSize, offset(page)).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("tags of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	var out []Tag
	for rows.Next() {
		t, err := scanTag(rows)
		if err != nil {
			return nil, p, fmt.Errorf("tags of batch %d: %w", batchID, err)
		}
		out = append(out, t)
	}
	return out, p, rows.Err()
}

// Tag returns the tag with the given code, whoever generated it (callers
// that act on it check its OrgID), or NotFound keyed error.tag_unknown.
func (db *DB) Tag(ctx context.Context, code tag.Code) (Tag, error) {
	row := db.gorm.WithContext(ctx).Raw(`SELECT `+tagColumns+` FROM tags t JOIN tag_batches b ON b.id = t.batch_id
		WHERE t.code = ?`, string(code)).Row()
	t, err := scanTag(row)
	if err != nil {
		return Tag{}, fmt.Errorf("tag %s: %w", code, notFound(err, "error.tag_unknown"))
	}
	return t, nil
}
