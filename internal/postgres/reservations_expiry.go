package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/allocation"
	"gorm.io/gorm"
)

// The expiry job's store calls: reservations left unanswered are released
// when they expire, and their beneficiary is reminded once before.

// RemindBefore is how long before its expiry a reservation still waiting
// for an answer is reminded to the beneficiary: two days, so that the
// reminder reaches it in a daily digest before the expiry.
const RemindBefore = 48 * time.Hour

// RemindReservations tells each beneficiary organisation, once per
// reservation, of its reservations still waiting for an answer that expire
// within RemindBefore of now, sent at least a day ago (a shorter holding
// time than that is its proposal's notice alone): one notice per
// organisation, with how many and the first expiry. The reservations are
// claimed with FOR UPDATE SKIP LOCKED and marked reminded in the same
// transaction, so several instances never remind one twice. It returns how
// many reservations were reminded.
func (db *DB) RemindReservations(ctx context.Context, now time.Time) (int, error) {
	type due struct {
		ID, OrgID int64
		ExpiresAt time.Time
	}
	var n int
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var rows []due
		if err := tx.Raw(`SELECT r.id, q.beneficiary_org_id AS org_id, r.expires_at
			FROM reservations r JOIN request_lines l ON l.id = r.request_line_id JOIN requests q ON q.id = l.request_id
			JOIN proposals p ON p.id = r.proposal_id
			WHERE r.state = 'reserved' AND r.reminded_at IS NULL AND r.expires_at > ? AND r.expires_at <= ?
				AND p.sent_at <= ?
			ORDER BY r.id LIMIT ? FOR UPDATE OF r SKIP LOCKED`, now, now.Add(RemindBefore), now.Add(-24*time.Hour),
			expireBatch).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		var ids idArray
		count, first := map[int64]int{}, map[int64]time.Time{}
		var orgs []int64
		for _, r := range rows {
			ids = append(ids, r.ID)
			if count[r.OrgID] == 0 {
				orgs = append(orgs, r.OrgID)
			}
			count[r.OrgID]++
			if f, ok := first[r.OrgID]; !ok || r.ExpiresAt.Before(f) {
				first[r.OrgID] = r.ExpiresAt
			}
		}
		if err := tx.Exec(`UPDATE reservations SET reminded_at = ? WHERE id = ANY (?::bigint[])`, now, ids).Error; err != nil {
			return err
		}
		for _, org := range orgs {
			if err := notifyOrg(tx, org, Notice{Kind: "notify.reservation_expiring", Link: "/reservations",
				Args: map[string]string{"count": strconv.Itoa(count[org]), "expires": first[org].Format(time.DateOnly)}}); err != nil {
				return err
			}
		}
		n = len(rows)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("remind reservations: %w", err)
	}
	return n, nil
}

// expireBatch bounds the reservations one run of the job expires; the
// next run takes the rest.
const expireBatch = 500

// ExpireReservations ends the reservations still waiting for an answer at
// now, past their expiry: each becomes expired, its device available
// again, and the beneficiary is told. Each reservation is claimed in its
// own transaction with FOR UPDATE SKIP LOCKED, so several instances
// running the job at once share the work and never expire one twice (a
// reservation another instance or an answer holds is skipped; once that
// commits, it is no longer 'reserved'). A reservation the lifecycle
// refuses to release is left as it is and reported in the error, the
// others go on. It returns how many expired.
func (db *DB) ExpireReservations(ctx context.Context, now time.Time) (int, error) {
	var (
		done   int
		failed idArray
		errs   []error
	)
	for done+len(failed) < expireBatch {
		var claimed bool
		err := db.Tx(ctx, func(tx *gorm.DB) error {
			r, err := lockReservation(tx, `r.state = 'reserved' AND r.expires_at <= ? AND r.id <> ALL (?::bigint[])
				ORDER BY r.expires_at, r.id LIMIT 1 FOR UPDATE OF r SKIP LOCKED`, now, failed)
			if isNoRows(err) {
				return nil
			}
			if err != nil {
				return err
			}
			claimed = true
			if err := endReservation(tx, r, allocation.ReservationExpired, nil); err != nil {
				failed = append(failed, r.ID)
				return fmt.Errorf("reservation %d: %w", r.ID, err)
			}
			name, err := deviceLabel(tx, r.DeviceID)
			if err != nil {
				return err
			}
			return notifyOrg(tx, r.OrgID, Notice{Kind: "notify.reservation_expired", Link: "/reservations",
				Args: map[string]string{"device": name, "request": strconv.FormatInt(r.RequestID, 10)}})
		})
		if err != nil && ctx.Err() != nil {
			return done, fmt.Errorf("expire reservations: %w", err)
		}
		if err != nil {
			errs = append(errs, err)
			if len(failed) == 0 || len(errs) > len(failed) {
				break // not one reservation's fault: try again at the next run
			}
			continue
		}
		if !claimed {
			break
		}
		done++
	}
	if len(errs) > 0 {
		return done, fmt.Errorf("expire reservations: %d left as they were: %w", len(errs), errors.Join(errs...))
	}
	return done, nil
}

// idArray passes ids as one PostgreSQL array (GORM would expand a slice
// into a list of values).
type idArray []int64

// Value implements driver.Valuer: the array's text form, {1,2,3}.
func (a idArray) Value() (driver.Value, error) {
	parts := make([]string, len(a))
	for i, id := range a {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return "{" + strings.Join(parts, ",") + "}", nil
}
