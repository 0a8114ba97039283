package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/donation"
	"gorm.io/gorm"
)

// Donation is a declared lot with its totals.
type Donation struct {
	ID             int64          `json:"id"`
	DonorOrgID     int64          `json:"donor_organisation_id"`
	DonorName      string         `json:"donor_name"`
	WorkshopOrgID  int64          `json:"workshop_organisation_id,omitempty"` // 0: not assigned yet
	WorkshopName   string         `json:"workshop_name,omitempty"`
	State          donation.State `json:"state"`
	Title          string         `json:"title"`
	Notes          string         `json:"notes"`
	DeclaredBy     int64          `json:"-"`
	DeclaredByName string         `json:"declared_by"`
	Version        int            `json:"version"`
	Devices        int            `json:"devices"`
	WeightKg       float64        `json:"weight_kg"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

// Device is one physical device of a donation.
type Device struct {
	ID            int64     `json:"id"`
	DonationID    int64     `json:"donation_id"`
	Line          int       `json:"line"`
	Category      string    `json:"category"`
	Brand         string    `json:"brand"`
	Model         string    `json:"model"`
	Serial        string    `json:"serial"`
	Year          int       `json:"year,omitempty"`
	StorageDrives int       `json:"storage_drives"`
	WeightKg      float64   `json:"weight_kg"`
	Notes         string    `json:"notes"`
	State         string    `json:"state"`
	CreatedAt     time.Time `json:"created_at"`
}

// DonationScope confines donation queries: a donor organisation sees its
// own donations, a workshop those assigned to it; the zero scope (operators)
// sees every donation.
type DonationScope struct {
	DonorOrgID    int64
	WorkshopOrgID int64
}

const donationScopeCond = `(? = 0 OR d.donor_org_id = ?) AND (? = 0 OR d.workshop_org_id = ?)`

// holds tells whether a donation of the donor and workshop given is in the
// scope: donationScopeCond's rule, for what was read without it.
func (s DonationScope) holds(donorOrgID, workshopOrgID int64) bool {
	return (s.DonorOrgID == 0 || donorOrgID == s.DonorOrgID) && (s.WorkshopOrgID == 0 || workshopOrgID == s.WorkshopOrgID)
}

func (s DonationScope) args() []any {
	return []any{s.DonorOrgID, s.DonorOrgID, s.WorkshopOrgID, s.WorkshopOrgID}
}

// DonationFilter narrows Donations.
type DonationFilter struct {
	Scope DonationScope
	State donation.State // "" for every state
	Page  int
}

const donationColumns = `d.id, d.donor_org_id, dorg.name, coalesce(d.workshop_org_id, 0), coalesce(w.name, ''), d.state,
	d.title, d.notes, coalesce(d.declared_by, 0), coalesce(u.name, ''), d.version,
	(SELECT count(*) FROM devices v WHERE v.donation_id = d.id),
	(SELECT coalesce(sum(v.weight_kg), 0)::float8 FROM devices v WHERE v.donation_id = d.id),
	d.created_at, d.updated_at`

const donationFrom = ` FROM donations d JOIN organisations dorg ON dorg.id = d.donor_org_id
	LEFT JOIN organisations w ON w.id = d.workshop_org_id LEFT JOIN users u ON u.id = d.declared_by`

func scanDonation(row interface{ Scan(...any) error }) (Donation, error) {
	var d Donation
	err := row.Scan(&d.ID, &d.DonorOrgID, &d.DonorName, &d.WorkshopOrgID, &d.WorkshopName, &d.State, &d.Title, &d.Notes,
		&d.DeclaredBy, &d.DeclaredByName, &d.Version, &d.Devices, &d.WeightKg, &d.CreatedAt, &d.UpdatedAt)
	return d, err
}

// deviceBatch is how many device rows one INSERT carries (ten parameters
// each, far below PostgreSQL's 65,535).
const deviceBatch = 1000

// CreateDonation stores a donation and one device row per physical device
// of its lines, in one transaction: every line or none. title and notes are
// validated by the caller (donation.ParseHeader) and lines too; the
// database's checks refuse anything that slipped through.
func (db *DB) CreateDonation(ctx context.Context, donorOrgID int64, actor *account.Principal, title, notes string,
	lines []donation.Line) (Donation, error) {
	if len(lines) == 0 {
		return Donation{}, berriz.E(berriz.Invalid, "donation.error.no_lines")
	}
	if donation.Devices(lines) > donation.MaxDevices {
		return Donation{}, berriz.E(berriz.Invalid, "donation.error.csv_too_many_devices")
	}
	var id int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var kind account.OrgKind
		var active bool
		err := tx.Raw(`SELECT kind, active FROM organisations WHERE id = ? FOR SHARE`, donorOrgID).Row().Scan(&kind, &active)
		if err != nil && !isNoRows(err) {
			return err
		}
		if err != nil || !active || kind.Role() != account.RoleDonor {
			return &berriz.Error{Kind: berriz.Invalid, Message: "error.invalid_fields",
				Fields: map[string]string{"donor": "donation.error.donor_invalid"}, Err: err}
		}
		var userID int64
		if actor != nil {
			userID = actor.UserID
		}
		if err := tx.Raw(`INSERT INTO donations (donor_org_id, title, notes, declared_by) VALUES (?, ?, ?, nullif(?, 0))
			RETURNING id`, donorOrgID, title, notes, userID).Row().Scan(&id); err != nil {
			return err
		}
		if err := insertDevices(tx, id, lines); err != nil {
			return err
		}
		return recordDonationEvent(tx, id, actor, "declared", "", donation.Declared,
			strconv.Itoa(donation.Devices(lines))+" devices")
	})
	if err != nil {
		return Donation{}, fmt.Errorf("create donation for organisation %d: %w", donorOrgID, err)
	}
	return db.Donation(ctx, id, DonationScope{})
}

func insertDevices(tx *gorm.DB, donationID int64, lines []donation.Line) error {
	const cols = 10
	var sb strings.Builder
	args := make([]any, 0, deviceBatch*cols)
	rows := 0
	flush := func() error {
		if rows == 0 {
			return nil
		}
		err := tx.Exec(`INSERT INTO devices (donation_id, line, category, brand, model, serial, year, storage_drives, weight_kg, notes)
			VALUES `+sb.String(), args...).Error
		sb.Reset()
		args, rows = args[:0], 0
		return err
	}
	for i, l := range lines {
		var year any
		if l.Year != 0 {
			year = l.Year
		}
		for range l.Quantity {
			if rows > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, donationID, i+1, l.Category, l.Brand, l.Model, l.Serial, year, l.StorageDrives, l.WeightKg, l.Notes)
			rows++
			if rows == deviceBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

func recordDonationEvent(tx *gorm.DB, id int64, actor *account.Principal, kind string, from, to donation.State, detail string) error {
	var userID int64
	if actor != nil {
		userID = actor.UserID
	}
	return tx.Exec(`INSERT INTO donation_events (donation_id, actor_user_id, kind, from_state, to_state, detail)
		VALUES (?, nullif(?, 0), ?, ?, ?, ?)`, id, userID, kind, string(from), string(to), detail).Error
}

// Donation returns one donation the scope may see; any other is not found.
func (db *DB) Donation(ctx context.Context, id int64, scope DonationScope) (Donation, error) {
	d, err := scanDonation(db.gorm.WithContext(ctx).Raw(`SELECT `+donationColumns+donationFrom+` WHERE d.id = ? AND `+donationScopeCond,
		append([]any{id}, scope.args()...)...).Row())
	if err != nil {
		return Donation{}, fmt.Errorf("donation %d: %w", id, notFound(err, "donation.error.not_found"))
	}
	return d, nil
}

// Donations returns one page of the donations the filter's scope sees,
// newest first.
func (db *DB) Donations(ctx context.Context, f DonationFilter) ([]Donation, Page, error) {
	cond := donationScopeCond + ` AND (? = '' OR d.state = ?)`
	args := append(f.Scope.args(), string(f.State), string(f.State))
	page := Page{Number: max(f.Page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM donations d WHERE `+cond, args...).Row().Scan(&page.Total); err != nil {
		return nil, page, fmt.Errorf("count donations: %w", err)
	}
	rows, err := g.Raw(`SELECT `+donationColumns+donationFrom+` WHERE `+cond+` ORDER BY d.id DESC LIMIT ? OFFSET ?`,
		append(args, PageSize, offset(f.Page))...).Rows()
	if err != nil {
		return nil, page, fmt.Errorf("list donations: %w", err)
	}
	defer rows.Close()
	var out []Donation
	for rows.Next() {
		d, err := scanDonation(rows)
		if err != nil {
			return nil, page, fmt.Errorf("list donations: %w", err)
		}
		out = append(out, d)
	}
	return out, page, rows.Err()
}

// DonationDevices returns one page of a donation's devices, in declaration
// order; a donation outside the scope has none.
func (db *DB) DonationDevices(ctx context.Context, id int64, scope DonationScope, page int) ([]Device, Page, error) {
	cond := `v.donation_id = ? AND EXISTS (SELECT 1 FROM donations d WHERE d.id = v.donation_id AND ` + donationScopeCond + `)`
	args := append([]any{id}, scope.args()...)
	p := Page{Number: max(page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM devices v WHERE `+cond, args...).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count devices of donation %d: %w", id, err)
	}
	rows, err := g.Raw(`SELECT v.id, v.donation_id, v.line, v.category, v.brand, v.model, v.serial, coalesce(v.year, 0),
		v.storage_drives, v.weight_kg::float8, v.notes, v.state, v.created_at FROM devices v WHERE `+cond+`
		ORDER BY v.id LIMIT ? OFFSET ?`, append(args, PageSize, offset(page))...).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("devices of donation %d: %w", id, err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		var v Device
		if err := rows.Scan(&v.ID, &v.DonationID, &v.Line, &v.Category, &v.Brand, &v.Model, &v.Serial, &v.Year,
			&v.StorageDrives, &v.WeightKg, &v.Notes, &v.State, &v.CreatedAt); err != nil {
			return nil, p, fmt.Errorf("devices of donation %d: %w", id, err)
		}
		out = append(out, v)
	}
	return out, p, rows.Err()
}

// lockDonation reads a donation's state and workshop under a row lock, so
// that concurrent changes apply one after the other.
func lockDonation(tx *gorm.DB, id int64, scope DonationScope) (donation.State, int64, error) {
	var state donation.State
	var workshop int64
	err := tx.Raw(`SELECT d.state, coalesce(d.workshop_org_id, 0) FROM donations d WHERE d.id = ? AND `+donationScopeCond+` FOR UPDATE`,
		append([]any{id}, scope.args()...)...).Row().Scan(&state, &workshop)
	return state, workshop, notFound(err, "donation.error.not_found")
}

// AssignWorkshop gives a donation to a workshop (the operator's call), or
// moves it to another one until the lot is received. The organisation must
// be an active workshop.
func (db *DB) AssignWorkshop(ctx context.Context, id, workshopOrgID int64, actor *account.Principal) (Donation, error) {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		state, current, err := lockDonation(tx, id, DonationScope{})
		if err != nil {
			return err
		}
		if state == donation.Received || state == donation.Closed {
			return berriz.E(berriz.Conflict, "donation.error.assign_late")
		}
		var kind account.OrgKind
		var active bool
		err = tx.Raw(`SELECT kind, active FROM organisations WHERE id = ? FOR SHARE`, workshopOrgID).Row().Scan(&kind, &active)
		if err != nil && !isNoRows(err) {
			return err
		}
		if err != nil || !active || kind != account.KindWorkshop {
			return &berriz.Error{Kind: berriz.Invalid, Message: "error.invalid_fields",
				Fields: map[string]string{"workshop": "donation.error.workshop_invalid"}, Err: err}
		}
		if current == workshopOrgID {
			return nil
		}
		if err := tx.Exec(`UPDATE donations SET workshop_org_id = ?, version = version + 1 WHERE id = ?`, workshopOrgID, id).Error; err != nil {
			return err
		}
		return recordDonationEvent(tx, id, actor, "assigned", state, state, "workshop "+strconv.FormatInt(workshopOrgID, 10))
	})
	if err != nil {
		return Donation{}, fmt.Errorf("assign donation %d to workshop %d: %w", id, workshopOrgID, err)
	}
	return db.Donation(ctx, id, DonationScope{})
}

// SetDonationState moves a donation one step forward. from, when not
// empty, is the state the person saw: if the donation moved meanwhile the
// change is refused as a conflict rather than applied blindly. Under the
// row lock, two concurrent requests for the same step cannot both win.
func (db *DB) SetDonationState(ctx context.Context, id int64, scope DonationScope, from, to donation.State,
	actor *account.Principal) (Donation, error) {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		state, workshop, err := lockDonation(tx, id, scope)
		if err != nil {
			return err
		}
		if from != "" && from != state {
			return berriz.E(berriz.Conflict, "donation.error.state_changed")
		}
		if err := state.CheckTransition(to); err != nil {
			return err
		}
		if workshop == 0 {
			return berriz.E(berriz.Conflict, "donation.error.no_workshop")
		}
		if err := tx.Exec(`UPDATE donations SET state = ?, version = version + 1 WHERE id = ?`, string(to), id).Error; err != nil {
			return err
		}
		return recordDonationEvent(tx, id, actor, "state_changed", state, to, "")
	})
	if err != nil {
		return Donation{}, fmt.Errorf("donation %d to %s: %w", id, to, err)
	}
	return db.Donation(ctx, id, scope)
}

// ActiveOrganisations lists, by name, at most limit active organisations
// whose members have the role: the workshops an operator assigns
// donations to, the donors it declares for.
func (db *DB) ActiveOrganisations(ctx context.Context, role account.Role, limit int) ([]account.Organisation, error) {
	var kinds []string
	for _, k := range account.OrgKinds {
		if k.Role() == role {
			kinds = append(kinds, string(k))
		}
	}
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT `+orgColumns+` FROM organisations o WHERE o.active AND o.kind IN ?
		ORDER BY o.name, o.id LIMIT ?`, kinds, limit).Rows()
	if err != nil {
		return nil, fmt.Errorf("active %s organisations: %w", role, err)
	}
	defer rows.Close()
	var out []account.Organisation
	for rows.Next() {
		var o account.Organisation
		if err := rows.Scan(&o.ID, &o.Kind, &o.Name, &o.Commune, &o.OfficialID, &o.Active, &o.CreatedAt, &o.UpdatedAt, &o.Members); err != nil {
			return nil, fmt.Errorf("active %s organisations: %w", role, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
