package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"gorm.io/gorm"
)

// Locations are the shelves and other places of a workshop, each with its
// "move" action card at the scan station. A device's location is the name
// of the place it was last moved to (devices.location): moving is not a
// step of the lifecycle, it changes no state, but it is recorded in the
// device's event chain and it overwrites what was there, so it takes the
// client's version like any other overwrite.

// Location is one place of a workshop.
type Location struct {
	ID            int64     `json:"id"`
	WorkshopOrgID int64     `json:"workshop_organisation_id"`
	WorkshopName  string    `json:"workshop_name"`
	Name          string    `json:"name"`
	Devices       int       `json:"devices"` // devices of the workshop there now
	CreatedAt     time.Time `json:"created_at"`
}

// LocationNameMax bounds a location's name, in characters (the schema's
// limit, shown on the form).
const LocationNameMax = 100

// heldStates lists, for SQL, the states in which a device is in its
// workshop's hands (lifecycle.State.InWorkshop): only those devices are
// on a shelf.
var heldStates = func() string {
	var q []string
	for _, st := range lifecycle.States {
		if st.InWorkshop() {
			q = append(q, "'"+string(st)+"'")
		}
	}
	return strings.Join(q, ", ")
}()

var locationColumns = `l.id, l.workshop_org_id, o.name, l.name,
	(SELECT count(*) FROM devices v JOIN donations d ON d.id = v.donation_id
		WHERE d.workshop_org_id = l.workshop_org_id AND v.location = l.name AND v.state IN (` + heldStates + `)),
	l.created_at`

const locationFrom = ` FROM locations l JOIN organisations o ON o.id = l.workshop_org_id`

func scanLocation(row interface{ Scan(...any) error }) (Location, error) {
	var l Location
	err := row.Scan(&l.ID, &l.WorkshopOrgID, &l.WorkshopName, &l.Name, &l.Devices, &l.CreatedAt)
	return l, err
}

// Locations returns one page of the locations of a workshop (0: every
// workshop, for operators), by workshop then name.
func (db *DB) Locations(ctx context.Context, workshop int64, page int) ([]Location, Page, error) {
	p := Page{Number: max(page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM locations WHERE ? = 0 OR workshop_org_id = ?`, workshop, workshop).Row().
		Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count locations: %w", err)
	}
	rows, err := g.Raw(`SELECT `+locationColumns+locationFrom+` WHERE ? = 0 OR l.workshop_org_id = ?
		ORDER BY o.name, l.name, l.id LIMIT ? OFFSET ?`, workshop, workshop, PageSize, offset(p.Number)).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("locations: %w", err)
	}
	defer rows.Close()
	var out []Location
	for rows.Next() {
		l, err := scanLocation(rows)
		if err != nil {
			return nil, p, fmt.Errorf("locations: %w", err)
		}
		out = append(out, l)
	}
	return out, p, rows.Err()
}

// Location returns a location of the workshop (0: any); any other is not
// found, exactly as a missing one.
func (db *DB) Location(ctx context.Context, id, workshop int64) (Location, error) {
	l, err := scanLocation(db.gorm.WithContext(ctx).Raw(`SELECT `+locationColumns+locationFrom+
		` WHERE l.id = ? AND (? = 0 OR l.workshop_org_id = ?)`, id, workshop, workshop).Row())
	if err != nil {
		return Location{}, fmt.Errorf("location %d: %w", id, notFound(err, "scan.location.error.not_found"))
	}
	return l, nil
}

// CheckLocationName trims a location's name and says what is wrong with
// it, as a field error on "name".
func CheckLocationName(name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	switch {
	case name == "":
		return "", berriz.FieldErrors{"name": "scan.location.error.name_required"}.Err()
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > LocationNameMax:
		return "", berriz.FieldErrors{"name": "scan.location.error.name_long"}.Err()
	}
	return name, nil
}

// CreateLocation adds a place to a workshop. Names are unique within a
// workshop (a field error on "name" otherwise); the organisation must be
// an active workshop (a field error on "workshop" otherwise).
func (db *DB) CreateLocation(ctx context.Context, workshop int64, name string) (Location, error) {
	name, err := CheckLocationName(name)
	if err != nil {
		return Location{}, err
	}
	var id int64
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		var kind account.OrgKind
		if err := tx.Raw(`SELECT kind FROM organisations WHERE id = ? AND active FOR SHARE`, workshop).Row().
			Scan(&kind); err != nil || kind.Role() != account.RoleTechnician {
			if err != nil && !isNoRows(err) {
				return err
			}
			return berriz.FieldErrors{"workshop": "scan.location.error.workshop"}.Err()
		}
		err := tx.Raw(`INSERT INTO locations (workshop_org_id, name) VALUES (?, ?)
			ON CONFLICT (workshop_org_id, name) DO NOTHING RETURNING id`, workshop, name).Row().Scan(&id)
		if isNoRows(err) {
			return berriz.FieldErrors{"name": "scan.location.error.name_taken"}.Err()
		}
		return err
	})
	if err != nil {
		return Location{}, fmt.Errorf("create location %q of workshop %d: %w", name, workshop, err)
	}
	return db.Location(ctx, id, 0)
}

// Moved is the outcome of a move: the device's state and version after
// it, where it is now, and whether anything changed (a device already
// there is left as it is, without an event).
type Moved struct {
	DeviceState
	Location string `json:"location"`
	Changed  bool   `json:"changed"`
}

// MoveDevice puts a device the scope may see on a location of its own
// workshop: the device must be in the workshop's hands (received and not
// yet out), the location must be its workshop's. version is the device's
// version the client saw (0: no check, as the scan station acts on the
// device as it finds it). One transaction under the device's row lock; the
// move is appended to the device's event chain.
func (db *DB) MoveDevice(ctx context.Context, deviceID int64, scope DonationScope, locationID int64, version int,
	actor *account.Principal) (Moved, error) {
	var out Moved
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		d, err := lockDeviceFacts(tx, deviceID, scope)
		if err != nil {
			return err
		}
		if version != 0 && version != d.Version {
			return staleDevice(d.DeviceState)
		}
		var loc Location
		if err := tx.Raw(`SELECT id, workshop_org_id, name FROM locations WHERE id = ?`, locationID).Row().
			Scan(&loc.ID, &loc.WorkshopOrgID, &loc.Name); err != nil {
			return notFound(err, "scan.location.error.not_found")
		}
		if loc.WorkshopOrgID != d.WorkshopOrgID {
			return berriz.E(berriz.Conflict, "scan.error.location_elsewhere")
		}
		if !d.State.InWorkshop() {
			return berriz.E(berriz.Conflict, "scan.error.move_not_held").WithKeyArg("state", d.State.Key()).
				WithDetail("state", string(d.State))
		}
		out = Moved{DeviceState: d.DeviceState, Location: loc.Name}
		if d.Location == loc.Name {
			return nil
		}
		if err := tx.Raw(`UPDATE devices SET location = ?, version = version + 1 WHERE id = ? RETURNING version`,
			loc.Name, d.ID).Row().Scan(&out.Version); err != nil {
			return err
		}
		place, err := devicePlace(tx, d.WorkshopOrgID, loc.Name)
		if err != nil {
			return err
		}
		detail, err := json.Marshal(map[string]any{"location_id": loc.ID, "location": loc.Name, "from": d.Location})
		if err != nil {
			return err
		}
		out.Changed = true
		return appendDeviceEvent(tx, d.ID, actor, DeviceEvent{Kind: EventMoved, From: string(d.State),
			To: string(d.State), Place: place, Detail: string(detail)})
	})
	if err != nil {
		return Moved{}, fmt.Errorf("move device %d to location %d: %w", deviceID, locationID, err)
	}
	return out, nil
}
