package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/recycling"
	"github.com/berriz/berriz/internal/tag"
	"gorm.io/gorm"
)

// Recycling batches: a device the workshop cannot reuse joins its
// workshop's open batch (created on demand; the partial unique index
// recycling_batches_one_open allows one at a time) when the lifecycle
// would let it become recycled that way, and waits there, held: every
// other step is refused by the lifecycle's InRecyclingBatch fact, until it
// is taken out or the batch is handed over. The handover moves every
// device of the batch to recycled in one transaction, or none.
//
// Locks are taken in one order — the batch, then its devices by id — by
// every path that touches both (join, leave, handover), so they queue
// instead of deadlocking, and a device never joins a batch while it is
// being handed over.

// RecyclingBatch is a batch with its devices' count and weight.
type RecyclingBatch struct {
	ID                int64      `json:"id"`
	WorkshopOrgID     int64      `json:"workshop_organisation_id"`
	WorkshopName      string     `json:"workshop_name"`
	State             string     `json:"state"`
	Devices           int        `json:"devices"`
	DevicesWeightKg   float64    `json:"devices_weight_kg"` // the sum of the devices' declared weights
	Recycler          string     `json:"recycler,omitempty"`
	HandedOverOn      string     `json:"handed_over_on,omitempty"` // YYYY-MM-DD
	TotalWeightKg     float64    `json:"total_weight_kg,omitempty"`
	CertificateRef    string     `json:"certificate_ref,omitempty"`
	CertificateName   string     `json:"certificate_name,omitempty"`
	CertificateSize   int64      `json:"certificate_size,omitempty"`
	CertificateSHA256 string     `json:"certificate_sha256,omitempty"`
	CertificateKey    string     `json:"-"`
	CreatedAt         time.Time  `json:"created_at"`
	HandedOverAt      *time.Time `json:"handed_over_at,omitempty"`
	HandedOverBy      string     `json:"handed_over_by,omitempty"` // the user's name, while the account exists
}

const batchColumns = `b.id, b.workshop_org_id, o.name, b.state,
	(SELECT count(*) FROM devices v WHERE v.recycling_batch_id = b.id),
	(SELECT coalesce(sum(v.weight_kg), 0)::float8 FROM devices v WHERE v.recycling_batch_id = b.id),
	b.recycler, coalesce(to_char(b.handed_over_on, 'YYYY-MM-DD'), ''), coalesce(b.total_weight_kg, 0)::float8,
	b.certificate_ref, b.certificate_name, coalesce(b.certificate_size, 0), coalesce(b.certificate_sha256, ''),
	coalesce(b.certificate_key, ''), b.created_at, b.handed_over_at, coalesce(u.name, '')`

const batchFrom = ` FROM recycling_batches b JOIN organisations o ON o.id = b.workshop_org_id
	LEFT JOIN users u ON u.id = b.handed_over_by`

func scanBatch(row interface{ Scan(...any) error }) (RecyclingBatch, error) {
	var b RecyclingBatch
	err := row.Scan(&b.ID, &b.WorkshopOrgID, &b.WorkshopName, &b.State, &b.Devices, &b.DevicesWeightKg, &b.Recycler,
		&b.HandedOverOn, &b.TotalWeightKg, &b.CertificateRef, &b.CertificateName, &b.CertificateSize,
		&b.CertificateSHA256, &b.CertificateKey, &b.CreatedAt, &b.HandedOverAt, &b.HandedOverBy)
	return b, err
}

// RecyclingBatches returns one page of the batches of a workshop (0: every
// workshop, for operators): the open ones first, then newest first.
func (db *DB) RecyclingBatches(ctx context.Context, workshop int64, page int) ([]RecyclingBatch, Page, error) {
	p := Page{Number: max(page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM recycling_batches WHERE ? = 0 OR workshop_org_id = ?`, workshop, workshop).
		Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count recycling batches: %w", err)
	}
	rows, err := g.Raw(`SELECT `+batchColumns+batchFrom+` WHERE ? = 0 OR b.workshop_org_id = ?
		ORDER BY b.state = 'open' DESC, b.id DESC LIMIT ? OFFSET ?`, workshop, workshop, PageSize, offset(p.Number)).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("recycling batches: %w", err)
	}
	defer rows.Close()
	var out []RecyclingBatch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, p, fmt.Errorf("recycling batches: %w", err)
		}
		out = append(out, b)
	}
	return out, p, rows.Err()
}

// RecyclingBatch returns a batch of the workshop (0: any); any other is
// not found, exactly as a missing one.
func (db *DB) RecyclingBatch(ctx context.Context, id, workshop int64) (RecyclingBatch, error) {
	b, err := scanBatch(db.gorm.WithContext(ctx).Raw(`SELECT `+batchColumns+batchFrom+
		` WHERE b.id = ? AND (? = 0 OR b.workshop_org_id = ?)`, id, workshop, workshop).Row())
	if err != nil {
		return RecyclingBatch{}, fmt.Errorf("recycling batch %d: %w", id, notFound(err, "recycling.error.not_found"))
	}
	return b, nil
}

// RecyclingBatchDevices returns one page of the devices of a batch
// (already checked to be in scope), by id.
func (db *DB) RecyclingBatchDevices(ctx context.Context, batchID int64, page int) ([]DeviceRow, Page, error) {
	p := Page{Number: max(page, 1)}
	if err := db.gorm.WithContext(ctx).Raw(`SELECT count(*) FROM devices WHERE recycling_batch_id = ?`, batchID).Row().
		Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count devices of recycling batch %d: %w", batchID, err)
	}
	var out []DeviceRow
	err := db.eachDevice(ctx, `v.recycling_batch_id = ? ORDER BY v.id LIMIT ? OFFSET ?`,
		[]any{batchID, PageSize, offset(p.Number)}, func(v DeviceRow) error { out = append(out, v); return nil })
	return out, p, err
}

// RecyclingJoin is where a device stands after joining or leaving a batch.
type RecyclingJoin struct {
	DeviceState
	BatchID int64 `json:"batch_id"`
}

// openBatch locks the workshop's open batch, creating it when there is
// none. A batch handed over meanwhile (its row re-read after the lock no
// longer open) makes room for a new one: try again.
func openBatch(tx *gorm.DB, workshop int64, actor *account.Principal) (int64, error) {
	var by any
	if actor != nil && actor.UserID != 0 {
		by = actor.UserID
	}
	for range 3 {
		if err := tx.Exec(`INSERT INTO recycling_batches (workshop_org_id, created_by) VALUES (?, ?)
			ON CONFLICT (workshop_org_id) WHERE state = 'open' DO NOTHING`, workshop, by).Error; err != nil {
			return 0, fmt.Errorf("open recycling batch of workshop %d: %w", workshop, err)
		}
		var id int64
		err := tx.Raw(`SELECT id FROM recycling_batches WHERE workshop_org_id = ? AND state = 'open' FOR UPDATE`,
			workshop).Row().Scan(&id)
		if err == nil {
			return id, nil
		}
		if !isNoRows(err) {
			return 0, fmt.Errorf("open recycling batch of workshop %d: %w", workshop, err)
		}
	}
	return 0, berriz.E(berriz.Conflict, "error.conflict")
}

// deviceRecyclingBatch reads, without a lock, the workshop and the batch of a
// device the scope may see: what to lock first.
func deviceRecyclingBatch(tx *gorm.DB, id int64, scope DonationScope) (workshop, batch int64, err error) {
	err = tx.Raw(`SELECT coalesce(d.workshop_org_id, 0), coalesce(v.recycling_batch_id, 0)
		FROM devices v JOIN donations d ON d.id = v.donation_id WHERE v.id = ? AND `+donationScopeCond,
		append([]any{id}, scope.args()...)...).Row().Scan(&workshop, &batch)
	return workshop, batch, notFound(err, "device.error.not_found")
}

// recyclingEvent appends a join or a departure to a device's chain.
func recyclingEvent(tx *gorm.DB, d lockedDevice, actor *account.Principal, batch int64, what string) error {
	place, err := devicePlace(tx, d.WorkshopOrgID, d.Location)
	if err != nil {
		return err
	}
	detail, err := json.Marshal(map[string]any{"batch": batch, "action": what})
	if err != nil {
		return err
	}
	return appendDeviceEvent(tx, d.ID, actor, DeviceEvent{Kind: EventRecycling, From: string(d.State), To: string(d.State),
		Place: place, Detail: string(detail)})
}

// AddToRecycling puts a device the scope may see into its workshop's open
// batch, if the lifecycle would let it become recycled through a batch
// (every drive erased, not reserved or delivered...): refusals are the
// lifecycle's, with its reason. One transaction: the batch, created on
// demand, then the device are locked.
func (db *DB) AddToRecycling(ctx context.Context, deviceID int64, scope DonationScope, actor *account.Principal) (RecyclingJoin, error) {
	var out RecyclingJoin
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		workshop, _, err := deviceRecyclingBatch(tx, deviceID, scope)
		if err != nil {
			return err
		}
		var batch int64
		if workshop != 0 {
			if batch, err = openBatch(tx, workshop, actor); err != nil {
				return err
			}
		}
		d, err := lockDeviceFacts(tx, deviceID, scope)
		if err != nil {
			return err
		}
		if d.Facts.InRecyclingBatch {
			var in int64
			if err := tx.Raw(`SELECT recycling_batch_id FROM devices WHERE id = ?`, d.ID).Row().Scan(&in); err != nil {
				return err
			}
			return berriz.E(berriz.Conflict, "recycling.error.already_in_batch").WithArg("batch", strconv.FormatInt(in, 10)).
				WithDetail("batch_id", in)
		}
		if err := lifecycle.Check(d.State, lifecycle.Recycled, lifecycle.Recycling, d.Facts); err != nil {
			return err
		}
		if d.WorkshopOrgID != workshop || batch == 0 {
			return berriz.E(berriz.Conflict, "error.conflict") // its donation changed workshop meanwhile
		}
		out = RecyclingJoin{DeviceState: d.DeviceState, BatchID: batch}
		if err := tx.Raw(`UPDATE devices SET recycling_batch_id = ?, version = version + 1 WHERE id = ? RETURNING version`,
			batch, d.ID).Row().Scan(&out.Version); err != nil {
			return err
		}
		return recyclingEvent(tx, d, actor, batch, "joined")
	})
	if err != nil {
		return RecyclingJoin{}, fmt.Errorf("add device %d to recycling: %w", deviceID, err)
	}
	return out, nil
}

// RemoveFromRecycling takes a device the scope may see out of its open
// batch: the device may take other steps again.
func (db *DB) RemoveFromRecycling(ctx context.Context, deviceID int64, scope DonationScope, actor *account.Principal) (RecyclingJoin, error) {
	var out RecyclingJoin
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		_, batch, err := deviceRecyclingBatch(tx, deviceID, scope)
		if err != nil {
			return err
		}
		if batch == 0 {
			return berriz.E(berriz.Conflict, "recycling.error.not_in_batch")
		}
		var state string
		if err := tx.Raw(`SELECT state FROM recycling_batches WHERE id = ? FOR UPDATE`, batch).Row().Scan(&state); err != nil {
			return err
		}
		if state != recycling.Open {
			return berriz.E(berriz.Conflict, "recycling.error.handed_over").WithArg("batch", strconv.FormatInt(batch, 10))
		}
		d, err := lockDeviceFacts(tx, deviceID, scope)
		if err != nil {
			return err
		}
		var now int64
		if err := tx.Raw(`SELECT coalesce(recycling_batch_id, 0) FROM devices WHERE id = ?`, d.ID).Row().Scan(&now); err != nil {
			return err
		}
		if now != batch {
			return berriz.E(berriz.Conflict, "recycling.error.not_in_batch")
		}
		out = RecyclingJoin{DeviceState: d.DeviceState, BatchID: batch}
		if err := tx.Raw(`UPDATE devices SET recycling_batch_id = NULL, version = version + 1 WHERE id = ? RETURNING version`,
			d.ID).Row().Scan(&out.Version); err != nil {
			return err
		}
		return recyclingEvent(tx, d, actor, batch, "left")
	})
	if err != nil {
		return RecyclingJoin{}, fmt.Errorf("remove device %d from recycling: %w", deviceID, err)
	}
	return out, nil
}

// Certificate is a file already stored (storage/) whose record a write
// keeps.
type Certificate struct {
	Key    string
	Name   string
	Size   int64
	SHA256 string
}

// HandOverRecycling hands a batch of the workshop (0: any) to the
// recycler: every device of the batch becomes recycled through the
// lifecycle's Recycling path and the batch records the handover and the
// recycler's certificate, in one transaction — all or nothing. A device the
// lifecycle refuses (a drive recorded since it joined, say) refuses the
// whole handover, naming the device; the caller removes the stored
// certificate when this fails.
func (db *DB) HandOverRecycling(ctx context.Context, batchID, workshop int64, h recycling.Handover, cert Certificate,
	actor *account.Principal) (RecyclingBatch, error) {
	if cert.Key == "" || cert.Size <= 0 || len(cert.SHA256) != 64 {
		return RecyclingBatch{}, berriz.FieldErrors{recycling.FieldCertificate: "recycling.error.certificate_required"}.Err()
	}
	var by any
	if actor != nil && actor.UserID != 0 {
		by = actor.UserID
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var state string
		if err := tx.Raw(`SELECT state FROM recycling_batches WHERE id = ? AND (? = 0 OR workshop_org_id = ?) FOR UPDATE`,
			batchID, workshop, workshop).Row().Scan(&state); err != nil {
			return notFound(err, "recycling.error.not_found")
		}
		if state != recycling.Open {
			return berriz.E(berriz.Conflict, "recycling.error.handed_over").WithArg("batch", strconv.FormatInt(batchID, 10))
		}
		var ids []int64
		if err := tx.Raw(`SELECT id FROM devices WHERE recycling_batch_id = ? ORDER BY id FOR UPDATE`, batchID).
			Scan(&ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return berriz.E(berriz.Conflict, "recycling.error.empty")
		}
		detail, err := json.Marshal(map[string]any{"batch": batchID, "recycler": h.Recycler,
			"certificate_ref": h.CertificateRef, "certificate_sha256": cert.SHA256})
		if err != nil {
			return err
		}
		for _, id := range ids {
			d, err := lockDeviceFacts(tx, id, DonationScope{})
			if err != nil {
				return err
			}
			if _, err := moveDevice(tx, d, lifecycle.Recycled, lifecycle.Recycling, actor, "", string(detail)); err != nil {
				if berriz.KindOf(err) != berriz.Conflict {
					return err
				}
				label, lerr := deviceLabel(tx, id)
				if lerr != nil {
					return lerr
				}
				return berriz.E(berriz.Conflict, "recycling.error.device_refused").WithArg("device", label).
					WithDetail("device_id", id).WithCause(err)
			}
		}
		return tx.Exec(`UPDATE recycling_batches SET state = ?, recycler = ?, handed_over_on = ?, total_weight_kg = ?,
			certificate_ref = ?, certificate_key = ?, certificate_name = ?, certificate_size = ?, certificate_sha256 = ?,
			handed_over_by = ?, handed_over_at = now() WHERE id = ?`, recycling.HandedOver, h.Recycler,
			h.HandedOverOn.Format(time.DateOnly), h.TotalWeightKg, h.CertificateRef, cert.Key, cut(cert.Name, 255), cert.Size,
			cert.SHA256, by, batchID).Error
	})
	if err != nil {
		return RecyclingBatch{}, fmt.Errorf("hand over recycling batch %d: %w", batchID, err)
	}
	return db.RecyclingBatch(ctx, batchID, 0)
}

// deviceLabel names a device for a message: its brand and model, and its
// tag once linked (or its number).
func deviceLabel(tx *gorm.DB, id int64) (string, error) {
	var brand, model, code string
	if err := tx.Raw(`SELECT v.brand, v.model, coalesce(t.code, '') FROM devices v LEFT JOIN tags t ON t.device_id = v.id
		WHERE v.id = ?`, id).Row().Scan(&brand, &model, &code); err != nil {
		return "", fmt.Errorf("label of device %d: %w", id, notFound(err, "device.error.not_found"))
	}
	return labelOf(id, brand, model, code), nil
}

func labelOf(id int64, brand, model, code string) string {
	name := strings.TrimSpace(brand + " " + model)
	ref := "#" + strconv.FormatInt(id, 10)
	if code != "" {
		ref = tag.Code(code).String()
	}
	if name == "" {
		return ref
	}
	return name + " (" + ref + ")"
}
