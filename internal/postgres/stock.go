package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/parts"
	"gorm.io/gorm"
)

// The spare-parts stock of each workshop: parts kept from dismantled
// devices (second-hand, stock_dismantle.go) and parts bought (new). A part
// leaves the stock fitted to a device (parts.go) or discarded, never
// deleted, so the workshop can account for every part. A workshop sees and
// uses its own stock only; operators see every workshop's.

// StockPart is one part of a workshop's stock.
type StockPart struct {
	ID             int64            `json:"id"`
	WorkshopOrgID  int64            `json:"workshop_organisation_id"`
	WorkshopName   string           `json:"workshop_name"`
	Kind           string           `json:"kind"`
	Description    string           `json:"description"`
	Condition      parts.Condition  `json:"condition"`
	SourceDeviceID int64            `json:"source_device_id,omitempty"`
	DriveType      device.DriveType `json:"drive_type,omitempty"`
	CapacityGB     int              `json:"capacity_gb,omitempty"`
	Serial         string           `json:"serial,omitempty"`
	// ErasureID is the verified erasure a second-hand drive went through
	// on its first device.
	ErasureID      int64            `json:"erasure_id,omitempty"`
	State          parts.StockState `json:"state"`
	FittedDeviceID int64            `json:"fitted_device_id,omitempty"`
	FittedAt       *time.Time       `json:"fitted_at,omitempty"`
	DiscardedAt    *time.Time       `json:"discarded_at,omitempty"`
	DiscardReason  string           `json:"discard_reason,omitempty"`
	CreatedAt      time.Time        `json:"created_at"`
}

const stockColumns = `s.id, s.workshop_org_id, w.name, s.kind, s.description, s.condition, coalesce(s.source_device_id, 0),
	coalesce(s.drive_type, ''), coalesce(s.capacity_gb, 0), s.serial, coalesce(s.erasure_id, 0), s.state,
	coalesce(s.fitted_device_id, 0), s.fitted_at, s.discarded_at, s.discard_reason, s.created_at`

const stockFrom = ` FROM stock_parts s JOIN organisations w ON w.id = s.workshop_org_id`

func scanStockPart(row interface{ Scan(...any) error }) (StockPart, error) {
	var p StockPart
	err := row.Scan(&p.ID, &p.WorkshopOrgID, &p.WorkshopName, &p.Kind, &p.Description, &p.Condition, &p.SourceDeviceID,
		&p.DriveType, &p.CapacityGB, &p.Serial, &p.ErasureID, &p.State, &p.FittedDeviceID, &p.FittedAt, &p.DiscardedAt,
		&p.DiscardReason, &p.CreatedAt)
	return p, err
}

// StockFilter narrows StockParts; zero values match all. WorkshopOrgID 0
// is every workshop (operators only: the server confines the others to
// their own).
type StockFilter struct {
	WorkshopOrgID int64
	State         parts.StockState
	Kind          string
	Page          int
}

// StockParts returns one page of the parts the filter matches, newest
// first.
func (db *DB) StockParts(ctx context.Context, f StockFilter) ([]StockPart, Page, error) {
	cond := `(? = 0 OR s.workshop_org_id = ?) AND (? = '' OR s.state = ?) AND (? = '' OR s.kind = ?)`
	args := []any{f.WorkshopOrgID, f.WorkshopOrgID, string(f.State), string(f.State), f.Kind, f.Kind}
	page := Page{Number: max(f.Page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM stock_parts s WHERE `+cond, args...).Row().Scan(&page.Total); err != nil {
		return nil, page, fmt.Errorf("count stock parts: %w", err)
	}
	list, err := db.stockList(ctx, cond+` ORDER BY s.id DESC LIMIT ? OFFSET ?`, append(args, PageSize, offset(page.Number))...)
	return list, page, err
}

func (db *DB) stockList(ctx context.Context, where string, args ...any) ([]StockPart, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT `+stockColumns+stockFrom+` WHERE `+where, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("list stock parts: %w", err)
	}
	defer rows.Close()
	var out []StockPart
	for rows.Next() {
		p, err := scanStockPart(rows)
		if err != nil {
			return nil, fmt.Errorf("list stock parts: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// FittableStock returns up to limit parts in the stock of a workshop,
// grouped by kind (in the order of the factor set, other last) and oldest
// first within a kind, so the oldest part is used first; and how many
// parts are in stock in all.
func (db *DB) FittableStock(ctx context.Context, workshop int64, limit int) ([]StockPart, int, error) {
	var total int
	if err := db.gorm.WithContext(ctx).Raw(`SELECT count(*) FROM stock_parts WHERE workshop_org_id = ? AND state = 'in_stock'`,
		workshop).Row().Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count stock of workshop %d: %w", workshop, err)
	}
	list, err := db.stockList(ctx, `s.workshop_org_id = ? AND s.state = 'in_stock'
		ORDER BY array_position(?::text[], s.kind), s.id LIMIT ?`, workshop, textArray(parts.Kinds()), limit)
	return list, total, err
}

// textArray renders strings as a PostgreSQL text array literal; the
// values are part kinds, which hold no quote, comma or brace.
func textArray(v []string) string {
	s := "{"
	for i, x := range v {
		if i > 0 {
			s += ","
		}
		s += x
	}
	return s + "}"
}

// StockPart returns one part of the stock of a workshop (0: any workshop,
// for operators); any other is not found.
func (db *DB) StockPart(ctx context.Context, id, workshop int64) (StockPart, error) {
	p, err := scanStockPart(db.gorm.WithContext(ctx).Raw(`SELECT `+stockColumns+stockFrom+`
		WHERE s.id = ? AND (? = 0 OR s.workshop_org_id = ?)`, id, workshop, workshop).Row())
	if err != nil {
		return StockPart{}, fmt.Errorf("stock part %d: %w", id, notFound(err, "parts.error.stock_not_found"))
	}
	return p, nil
}

// AddStockPart puts a part bought new into the stock of a workshop.
func (db *DB) AddStockPart(ctx context.Context, workshop int64, p parts.NewPart, actor *account.Principal) (StockPart, error) {
	p, fe := p.Check()
	if fe != nil {
		return StockPart{}, fe.Err()
	}
	var id int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var kind string
		err := tx.Raw(`SELECT kind FROM organisations WHERE id = ? AND active`, workshop).Row().Scan(&kind)
		if isNoRows(err) || err == nil && account.OrgKind(kind).Role() != account.RoleTechnician {
			return berriz.FieldErrors{"workshop_organisation_id": "parts.error.workshop"}.Err()
		}
		if err != nil {
			return err
		}
		var dt, capa any
		if p.Storage() {
			dt, capa = string(p.DriveType), p.CapacityGB
		}
		return tx.Raw(`INSERT INTO stock_parts (workshop_org_id, kind, description, condition, drive_type, capacity_gb, serial,
			created_by) VALUES (?, ?, ?, 'new', ?, ?, ?, nullif(?, 0)) RETURNING id`, workshop, p.Kind, p.Description, dt, capa,
			p.Serial, actorID(actor)).Row().Scan(&id)
	})
	if err != nil {
		return StockPart{}, fmt.Errorf("add a part to the stock of workshop %d: %w", workshop, err)
	}
	return db.StockPart(ctx, id, workshop)
}

// DiscardStockPart takes a part out of the stock for good (broken,
// obsolete), with the reason; only a part still in stock can be. workshop
// 0 is any workshop (operators).
func (db *DB) DiscardStockPart(ctx context.Context, id, workshop int64, reason string, actor *account.Principal) (StockPart, error) {
	reason, fe := parts.CheckReason(reason)
	if fe != nil {
		return StockPart{}, fe.Err()
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var state string
		err := tx.Raw(`SELECT state FROM stock_parts WHERE id = ? AND (? = 0 OR workshop_org_id = ?) FOR UPDATE`,
			id, workshop, workshop).Row().Scan(&state)
		if err != nil {
			return notFound(err, "parts.error.stock_not_found")
		}
		if state != string(parts.InStock) {
			return berriz.E(berriz.Conflict, "parts.error.stock_gone").WithKeyArg("state", parts.StockState(state).Key()).
				WithDetail("stock_state", state)
		}
		return tx.Exec(`UPDATE stock_parts SET state = 'discarded', discarded_at = now(), discarded_by = nullif(?, 0),
			discard_reason = ? WHERE id = ?`, actorID(actor), reason, id).Error
	})
	if err != nil {
		return StockPart{}, fmt.Errorf("discard stock part %d: %w", id, err)
	}
	return db.StockPart(ctx, id, workshop)
}

// StockWorkshops returns the workshops that have parts in stock, by name,
// for the operators' filter.
func (db *DB) StockWorkshops(ctx context.Context, limit int) ([]account.Organisation, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT o.id, o.name FROM organisations o
		WHERE EXISTS (SELECT 1 FROM stock_parts s WHERE s.workshop_org_id = o.id) ORDER BY o.name, o.id LIMIT ?`, limit).Rows()
	if err != nil {
		return nil, fmt.Errorf("workshops with stock: %w", err)
	}
	defer rows.Close()
	var out []account.Organisation
	for rows.Next() {
		var o account.Organisation
		if err := rows.Scan(&o.ID, &o.Name); err != nil {
			return nil, fmt.Errorf("workshops with stock: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
