package postgres

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/lifecycle"
	"gorm.io/gorm"
)

// The device lifecycle in the database: every change of state goes through
// moveDevice, under the device's row lock, which gathers the facts the
// rules of internal/lifecycle need, checks them, changes the state and
// appends the event to the device's hash chain, in the caller's
// transaction. Concurrent changes of one device queue on the row lock; a
// client that sends the version it saw gets a conflict with the fresh state
// when someone else changed the device first, never a lost update.

// DeviceState is where a device stands after a change.
type DeviceState struct {
	ID      int64           `json:"id"`
	State   lifecycle.State `json:"state"`
	Version int             `json:"version"`
	Cycle   int             `json:"cycle"`
}

// lockedDevice is a device read under its row lock with the facts of the
// lifecycle's rules.
type lockedDevice struct {
	DeviceState
	Category      string
	WorkshopOrgID int64
	Location      string
	Facts         lifecycle.Facts
}

// lockDeviceFacts locks a device the scope may see and gathers its facts.
func lockDeviceFacts(tx *gorm.DB, id int64, scope DonationScope) (lockedDevice, error) {
	return deviceFacts(tx, id, scope, " FOR UPDATE OF v")
}

// deviceFacts reads a device the scope may see with its facts, under the
// lock clause given ("" for none).
// Only the records of the current cycle count (a returned device is
// diagnosed and erased again); a drive counts as erased when the latest
// erasure of a drive with its position and serial passed verification.
func deviceFacts(tx *gorm.DB, id int64, scope DonationScope, lock string) (lockedDevice, error) {
	var (
		d       lockedDevice
		grade   string
		inBatch bool
	)
	err := tx.Raw(`SELECT v.id, v.state, v.version, v.cycle, v.category, coalesce(d.workshop_org_id, 0), v.location,
			v.storage_drives, v.os, coalesce(v.grade, ''), v.recycling_batch_id IS NOT NULL
		FROM devices v JOIN donations d ON d.id = v.donation_id
		WHERE v.id = ? AND `+donationScopeCond+lock, append([]any{id}, scope.args()...)...).Row().
		Scan(&d.ID, &d.State, &d.Version, &d.Cycle, &d.Category, &d.WorkshopOrgID, &d.Location,
			&d.Facts.StorageDrives, &d.Facts.OS, &grade, &inBatch)
	if err != nil {
		return lockedDevice{}, notFound(err, "device.error.not_found")
	}
	d.Facts.Grade, d.Facts.InRecyclingBatch, d.Facts.NeedsOS = grade, inBatch, device.NeedsOS(d.Category)
	// A statement of its own, after the lock: in READ COMMITTED it sees
	// what the transaction that held the lock before committed (within the
	// locking statement, subqueries would read its older snapshot).
	err = tx.Raw(`SELECT f.drives, f.erased, f.failed, `+diagnosedColumn+` FROM devices v`+driveFactsJoin+` WHERE v.id = ?`, id).
		Row().Scan(&d.Facts.Drives, &d.Facts.DrivesErased, &d.Facts.DrivesFailed, &d.Facts.Diagnosed)
	if err != nil {
		return lockedDevice{}, fmt.Errorf("drives and diagnosis of device %d: %w", id, err)
	}
	return d, nil
}

// DeviceFacts returns a device's state and the facts of the lifecycle's
// rules, for screens that show the next steps and what each still needs.
func (db *DB) DeviceFacts(ctx context.Context, id int64, scope DonationScope) (DeviceState, lifecycle.Facts, error) {
	d, err := db.deviceFactsOf(ctx, id, scope) // one statement: devicepage.go
	if err != nil {
		return DeviceState{}, lifecycle.Facts{}, fmt.Errorf("facts of device %d: %w", id, err)
	}
	return d.DeviceState, d.Facts, nil
}

// Transition asks to move a device to another state.
type Transition struct {
	To  lifecycle.State `json:"to"`
	Via lifecycle.Via   `json:"-"`
	// Version is the device's version the client saw; 0 skips the check
	// (the scan station acts on whatever state it finds, and the rules
	// still hold).
	Version int    `json:"version"`
	Note    string `json:"note"`
}

// staleDevice is the conflict of a client that saw an older version.
func staleDevice(d DeviceState) error {
	return berriz.E(berriz.Conflict, "lifecycle.error.stale").WithKeyArg("state", d.State.Key()).
		WithDetail("state", string(d.State)).WithDetail("version", d.Version)
}

// TransitionDevice moves a device the scope may see to another state, if
// the lifecycle allows it, and records the event; one transaction.
func (db *DB) TransitionDevice(ctx context.Context, id int64, scope DonationScope, t Transition,
	actor *account.Principal) (DeviceState, error) {
	if len(t.Note) > 500 {
		return DeviceState{}, berriz.FieldErrors{"note": "lifecycle.error.note_long"}.Err()
	}
	var out DeviceState
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		d, err := lockDeviceFacts(tx, id, scope)
		if err != nil {
			return err
		}
		if t.Version != 0 && t.Version != d.Version {
			return staleDevice(d.DeviceState)
		}
		out, err = moveDevice(tx, d, t.To, t.Via, actor, t.Note, "")
		return err
	})
	if err != nil {
		return DeviceState{}, fmt.Errorf("move device %d to %s: %w", id, t.To, err)
	}
	return out, nil
}

// moveDevice changes the state of a locked device if the rules allow it,
// and appends the event; detail is a machine-readable account of what came
// with the change (a batch, the parts kept...). A returned device starts a
// new cycle: its grade is given again after a new diagnosis and erasure.
func moveDevice(tx *gorm.DB, d lockedDevice, to lifecycle.State, via lifecycle.Via, actor *account.Principal,
	note, detail string) (DeviceState, error) {
	if err := lifecycle.Check(d.State, to, via, d.Facts); err != nil {
		return DeviceState{}, err
	}
	if err := endSecondLife(tx, d, to); err != nil { // emissions.go: a second life ends
		return DeviceState{}, err
	}
	q := `UPDATE devices SET state = ?, version = version + 1, state_since = now()`
	if to == lifecycle.Returned {
		q += `, cycle = cycle + 1, grade = NULL, grade_suggested = NULL, grade_reason = '', graded_by = NULL, graded_at = NULL`
	}
	var out DeviceState
	if err := tx.Raw(q+` WHERE id = ? RETURNING id, state, version, cycle`, string(to), d.ID).Row().
		Scan(&out.ID, &out.State, &out.Version, &out.Cycle); err != nil {
		return DeviceState{}, err
	}
	place, err := devicePlace(tx, d.WorkshopOrgID, d.Location)
	if err != nil {
		return DeviceState{}, err
	}
	ev := DeviceEvent{Kind: EventState, From: string(d.State), To: string(to), Place: place, Note: note, Detail: detail}
	if err := appendDeviceEvent(tx, d.ID, actor, ev); err != nil {
		return DeviceState{}, err
	}
	return out, nil
}

// devicePlace says where a device is, for its events: its workshop and
// shelf.
func devicePlace(tx *gorm.DB, workshop int64, location string) (string, error) {
	var name string
	if workshop != 0 {
		if err := tx.Raw(`SELECT name FROM organisations WHERE id = ?`, workshop).Row().Scan(&name); err != nil {
			return "", fmt.Errorf("workshop %d: %w", workshop, err)
		}
	}
	if location != "" {
		if name != "" {
			name += " — "
		}
		name += location
	}
	return cut(name, 200), nil
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // never cut a UTF-8 sequence
		n--
	}
	return s[:n]
}

// Event kinds of a device's log: a change of state, and the records that
// do not change it but belong to the device's history.
const (
	EventState     = "state"
	EventIntake    = "intake"
	EventMoved     = "moved"
	EventSpecs     = "specs"
	EventDiagnosis = "diagnosis"
	EventErasure   = "erasure"
	EventCertified = "certificate"
	EventRepair    = "repair"
	EventPart      = "part"
	EventGrade     = "grade"
	EventRecycling = "recycling"
)

// DeviceEvent is one entry of a device's log.
type DeviceEvent struct {
	ID      int64     `json:"id"`
	Seq     int       `json:"seq"`
	At      time.Time `json:"at"`
	ActorID int64     `json:"actor_id,omitempty"`
	Actor   string    `json:"actor,omitempty"` // the user's name, while the account exists
	Kind    string    `json:"kind"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to"`
	Place   string    `json:"place,omitempty"`
	Note    string    `json:"note,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Hash    string    `json:"hash"` // hex
}

// zeroHash is the previous hash of a device's first event.
var zeroHash = make([]byte, sha256.Size)

// eventHash is the chain's hash of an event: SHA-256 over a versioned,
// unambiguous rendering of the previous hash and every field (texts are
// length-prefixed), the twin of the SQL function device_event_hash.
func eventHash(prev []byte, deviceID int64, seq int, at time.Time, actorID int64, e DeviceEvent) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "berriz/device-event/v1\n%x\n%d\n%d\n%d\n%d\n", prev, deviceID, seq, at.UnixMicro(), actorID)
	for _, s := range []string{e.Kind, e.From, e.To, e.Place, e.Note, e.Detail} {
		h.Write([]byte(strconv.Itoa(len(s)) + ":" + s + "\n"))
	}
	return h.Sum(nil)
}

// appendDeviceEvent appends an event to the chain of a device whose row
// the transaction has locked (or just inserted): it numbers the event,
// hashes it over the previous one, and moves the device's chain head. The
// time is the database's, the one clock all instances share.
func appendDeviceEvent(tx *gorm.DB, deviceID int64, actor *account.Principal, e DeviceEvent) error {
	var actorID int64
	if actor != nil {
		actorID = actor.UserID
	}
	if e.Kind == "" {
		e.Kind = EventState
	}
	e.Place, e.Note, e.Detail = cut(e.Place, 200), cut(e.Note, 500), cut(e.Detail, 4000)
	var (
		seq  int
		head []byte
		at   time.Time
	)
	if err := tx.Raw(`SELECT event_seq, event_head, now() FROM devices WHERE id = ?`, deviceID).Row().
		Scan(&seq, &head, &at); err != nil {
		return fmt.Errorf("chain head of device %d: %w", deviceID, err)
	}
	if head == nil {
		head = zeroHash
	}
	seq++
	at = at.Truncate(time.Microsecond)
	hash := eventHash(head, deviceID, seq, at, actorID, e)
	if err := tx.Exec(`INSERT INTO device_events (device_id, seq, at, actor_user_id, actor_id, kind, from_state, to_state,
			place, note, detail, prev_hash, hash)
		VALUES (?, ?, ?, nullif(?, 0), ?, ?, ?, ?, ?, ?, ?, ?, ?)`, deviceID, seq, at, actorID, actorID, e.Kind, e.From, e.To,
		e.Place, e.Note, e.Detail, bytea(head), bytea(hash)).Error; err != nil {
		return fmt.Errorf("append event to device %d: %w", deviceID, err)
	}
	if err := tx.Exec(`UPDATE devices SET event_seq = ?, event_head = ? WHERE id = ?`, seq, bytea(hash), deviceID).Error; err != nil {
		return fmt.Errorf("chain head of device %d: %w", deviceID, err)
	}
	return nil
}

// DeviceEvents returns one page of a device's log (already checked to be
// in scope), newest first.
func (db *DB) DeviceEvents(ctx context.Context, deviceID int64, page int) ([]DeviceEvent, Page, error) {
	p := Page{Number: max(page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT event_seq FROM devices WHERE id = ?`, deviceID).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("events of device %d: %w", deviceID, notFound(err, "device.error.not_found"))
	}
	rows, err := g.Raw(`SELECT e.id, e.seq, e.at, e.actor_id, coalesce(u.name, ''), e.kind, e.from_state, e.to_state,
			e.place, e.note, e.detail, e.hash
		FROM device_events e LEFT JOIN users u ON u.id = e.actor_user_id
		WHERE e.device_id = ? ORDER BY e.seq DESC LIMIT ? OFFSET ?`, deviceID, PageSize, offset(p.Number)).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("events of device %d: %w", deviceID, err)
	}
	defer rows.Close()
	var out []DeviceEvent
	for rows.Next() {
		var e DeviceEvent
		var hash []byte
		if err := rows.Scan(&e.ID, &e.Seq, &e.At, &e.ActorID, &e.Actor, &e.Kind, &e.From, &e.To, &e.Place, &e.Note,
			&e.Detail, &hash); err != nil {
			return nil, p, fmt.Errorf("events of device %d: %w", deviceID, err)
		}
		e.Hash = fmt.Sprintf("%x", hash)
		out = append(out, e)
	}
	return out, p, rows.Err()
}
