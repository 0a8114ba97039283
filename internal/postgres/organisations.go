package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"gorm.io/gorm"
)

// PageSize is the number of rows a listing returns: the eco-design budget
// keeps pages under 300 DOM elements.
const PageSize = 25

// Page is a 1-based page number with its total, for listings.
type Page struct {
	Number int
	Total  int // rows in all
}

// Pages returns how many pages of PageSize rows Total rows fill.
func (p Page) Pages() int { return p.PagesOf(PageSize) }

// PagesOf returns how many pages of size rows (at least 1) Total rows
// fill: at least one, an empty listing being one empty page.
func (p Page) PagesOf(size int) int {
	size = max(size, 1)
	return max(1, (p.Total+size-1)/size)
}

func offset(page int) int { return offsetOf(page, PageSize) }

// offsetOf is the rows before page (1 for anything lower) of size rows.
func offsetOf(page, size int) int { return (max(page, 1) - 1) * size }

// OrgFilter narrows ListOrganisations.
type OrgFilter struct {
	Kind   account.OrgKind
	Query  string // part of the name, case-insensitive
	Active *bool
	Page   int
}

const orgColumns = `o.id, o.kind, o.name, o.commune, coalesce(o.official_id, '') AS official_id, o.active,
	o.created_at, o.updated_at, (SELECT count(*) FROM users u WHERE u.organisation_id = o.id) AS members`

// CreateOrganisation stores a validated organisation.
func (db *DB) CreateOrganisation(ctx context.Context, o account.Organisation, actor *account.Principal, ip string) (account.Organisation, error) {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		row := tx.Raw(`INSERT INTO organisations (kind, name, commune, official_id) VALUES (?, ?, ?, nullif(?, ''))
			RETURNING id, active, created_at, updated_at`, o.Kind, o.Name, o.Commune, o.OfficialID).Row()
		if err := row.Scan(&o.ID, &o.Active, &o.CreatedAt, &o.UpdatedAt); err != nil {
			return officialIDConflict(err)
		}
		return recordEvent(tx, Event{Kind: EventOrgCreated, Actor: actor, SubjectOrgID: o.ID, IP: ip, Detail: string(o.Kind) + " " + o.Name})
	})
	if err != nil {
		return account.Organisation{}, fmt.Errorf("create organisation: %w", err)
	}
	return o, nil
}

// UpdateOrganisation replaces name, kind, commune and official id.
func (db *DB) UpdateOrganisation(ctx context.Context, id int64, o account.Organisation, actor *account.Principal, ip string) error {
	_, err := db.PatchOrganisation(ctx, id, func(account.Organisation) (account.Organisation, error) { return o, nil }, actor, ip)
	return err
}

// PatchOrganisation changes an organisation with change, which receives the
// current row under its lock and returns the new one (validated): two
// concurrent partial updates are applied one after the other, neither lost.
func (db *DB) PatchOrganisation(ctx context.Context, id int64, change func(account.Organisation) (account.Organisation, error),
	actor *account.Principal, ip string) (account.Organisation, error) {
	var out account.Organisation
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var cur account.Organisation
		err := tx.Raw(`SELECT `+orgColumns+` FROM organisations o WHERE o.id = ? FOR UPDATE`, id).Row().
			Scan(&cur.ID, &cur.Kind, &cur.Name, &cur.Commune, &cur.OfficialID, &cur.Active, &cur.CreatedAt, &cur.UpdatedAt, &cur.Members)
		if err != nil {
			return notFound(err, "error.org_not_found")
		}
		o, err := change(cur)
		if err != nil {
			return err
		}
		err = tx.Raw(`UPDATE organisations SET kind = ?, name = ?, commune = ?, official_id = nullif(?, '') WHERE id = ?
			RETURNING updated_at`, o.Kind, o.Name, o.Commune, o.OfficialID, id).Row().Scan(&o.UpdatedAt)
		if err != nil {
			return officialIDConflict(err)
		}
		o.ID, o.Active, o.CreatedAt, o.Members = id, cur.Active, cur.CreatedAt, cur.Members
		out = o
		detail := o.Name
		if cur.Kind != o.Kind {
			// A new kind changes every member's role.
			detail = fmt.Sprintf("%s: kind %s -> %s", o.Name, cur.Kind, o.Kind)
			if err := recordEvent(tx, Event{Kind: EventRoleChanged, Actor: actor, SubjectOrgID: id, IP: ip, Detail: detail}); err != nil {
				return err
			}
		}
		return recordEvent(tx, Event{Kind: EventOrgUpdated, Actor: actor, SubjectOrgID: id, IP: ip, Detail: detail})
	})
	if err != nil {
		return account.Organisation{}, fmt.Errorf("update organisation %d: %w", id, err)
	}
	return out, nil
}

// SetOrganisationActive activates or deactivates an organisation.
// Deactivating locks its users out at once: their sessions are deleted, and
// sign-in and tokens check the flag.
func (db *DB) SetOrganisationActive(ctx context.Context, id int64, active bool, actor *account.Principal, ip string) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var kind string
		if err := tx.Raw(`SELECT kind FROM organisations WHERE id = ? FOR UPDATE`, id).Row().Scan(&kind); err != nil {
			return notFound(err, "error.org_not_found")
		}
		if !active && actor != nil && actor.OrgID == id {
			return berriz.E(berriz.Conflict, "error.org_deactivate_self")
		}
		if err := tx.Exec(`UPDATE organisations SET active = ? WHERE id = ?`, active, id).Error; err != nil {
			return err
		}
		kindOfEvent := EventOrgActivated
		if !active {
			kindOfEvent = EventOrgDeactivated
			if err := tx.Exec(`DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE organisation_id = ?)`, id).Error; err != nil {
				return err
			}
		}
		return recordEvent(tx, Event{Kind: kindOfEvent, Actor: actor, SubjectOrgID: id, IP: ip})
	})
	if err != nil {
		return fmt.Errorf("set organisation %d active=%v: %w", id, active, err)
	}
	return nil
}

// Organisation returns one organisation.
func (db *DB) Organisation(ctx context.Context, id int64) (account.Organisation, error) {
	var o account.Organisation
	err := db.gorm.WithContext(ctx).Raw(`SELECT `+orgColumns+` FROM organisations o WHERE o.id = ?`, id).Row().
		Scan(&o.ID, &o.Kind, &o.Name, &o.Commune, &o.OfficialID, &o.Active, &o.CreatedAt, &o.UpdatedAt, &o.Members)
	if err != nil {
		return o, fmt.Errorf("organisation %d: %w", id, notFound(err, "error.org_not_found"))
	}
	return o, nil
}

// ListOrganisations returns one page of organisations, by name.
func (db *DB) ListOrganisations(ctx context.Context, f OrgFilter) ([]account.Organisation, Page, error) {
	where := []string{"true"}
	var args []any
	if f.Kind != "" {
		where = append(where, "o.kind = ?")
		args = append(args, f.Kind)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		where = append(where, "o.name ILIKE ?")
		args = append(args, "%"+escapeLike(q)+"%")
	}
	if f.Active != nil {
		where = append(where, "o.active = ?")
		args = append(args, *f.Active)
	}
	cond := strings.Join(where, " AND ")
	page := Page{Number: max(f.Page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM organisations o WHERE `+cond, args...).Row().Scan(&page.Total); err != nil {
		return nil, page, fmt.Errorf("count organisations: %w", err)
	}
	rows, err := g.Raw(`SELECT `+orgColumns+` FROM organisations o WHERE `+cond+` ORDER BY o.name, o.id LIMIT ? OFFSET ?`,
		append(args, PageSize, offset(f.Page))...).Rows()
	if err != nil {
		return nil, page, fmt.Errorf("list organisations: %w", err)
	}
	defer rows.Close()
	var out []account.Organisation
	for rows.Next() {
		var o account.Organisation
		if err := rows.Scan(&o.ID, &o.Kind, &o.Name, &o.Commune, &o.OfficialID, &o.Active, &o.CreatedAt, &o.UpdatedAt, &o.Members); err != nil {
			return nil, page, fmt.Errorf("list organisations: %w", err)
		}
		out = append(out, o)
	}
	return out, page, rows.Err()
}

func officialIDConflict(err error) error {
	if errors.Is(translate(err), berriz.E(berriz.Conflict, "")) {
		return &berriz.Error{Kind: berriz.Conflict, Code: "conflict", Message: "error.invalid_fields",
			Fields: map[string]string{"official_id": "error.official_id_taken"}, Err: err}
	}
	return err
}

// notFound maps "no row" to a NotFound error with the given message.
func notFound(err error, message string) error {
	if isNoRows(err) {
		return berriz.E(berriz.NotFound, message).WithCause(err)
	}
	return err
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
