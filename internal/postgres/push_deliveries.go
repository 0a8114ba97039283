package postgres

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Push deliveries: one per subscription and closed month. OpenPushMonths
// creates them (INSERT ... ON CONFLICT DO NOTHING on the unique
// (subscription, month): any number of instances may run it at once).
// ClaimPushDeliveries takes the due ones FOR UPDATE SKIP LOCKED, counts the
// attempt and moves next_attempt_at forward by a lease in the same
// transaction, so that no other instance takes them while this one sends;
// RecordPushAttempt then logs the attempt and settles the delivery, but only
// if the delivery is still at that attempt (an instance that outlived its
// lease does not overwrite a newer attempt). A crash between claim and
// record means the delivery is tried again when the lease ends: delivery is
// at least once, and receivers tell repeats apart by the delivery id.

// PushDelivery is one subscription's delivery of one month.
type PushDelivery struct {
	ID             int64         `json:"id"`
	SubscriptionID int64         `json:"subscription_id"`
	OrgID          int64         `json:"organisation_id"`
	OrgName        string        `json:"organisation_name"`
	URL            string        `json:"url"`
	Month          time.Time     `json:"-"`
	MonthText      string        `json:"month"` // YYYY-MM
	Status         string        `json:"status"`
	Attempts       int           `json:"attempts"`
	NextAttemptAt  *time.Time    `json:"next_attempt_at"`
	LastStatus     *int          `json:"last_http_status"`
	LastError      string        `json:"last_error"`
	DeliveredAt    *time.Time    `json:"delivered_at"`
	CreatedAt      time.Time     `json:"created_at"`
	Log            []PushAttempt `json:"attempt_log,omitempty"`
}

// PushAttempt is one line of a delivery's log.
type PushAttempt struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	DurationMS int       `json:"duration_ms"`
	HTTPStatus *int      `json:"http_status"`
	Error      string    `json:"error"`
}

const pushDeliveryColumns = `d.id, d.subscription_id, s.organisation_id, o.name, s.url, d.month, d.status, d.attempts,
	d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.created_at`

const pushDeliveryFrom = ` FROM push_deliveries d JOIN push_subscriptions s ON s.id = d.subscription_id
	JOIN organisations o ON o.id = s.organisation_id `

func scanPushDelivery(row interface{ Scan(...any) error }) (PushDelivery, error) {
	var d PushDelivery
	err := row.Scan(&d.ID, &d.SubscriptionID, &d.OrgID, &d.OrgName, &d.URL, &d.Month, &d.Status, &d.Attempts,
		&d.NextAttemptAt, &d.LastStatus, &d.LastError, &d.DeliveredAt, &d.CreatedAt)
	d.MonthText = d.Month.Format("2006-01")
	return d, err
}

// OpenPushMonths creates the pending deliveries of every active
// subscription of an active organisation, for each month from the one
// before its creation (so that a new subscription gets the latest closed
// month at once, and its receiver can be checked) to lastClosed (a first
// day of month, see push.LastClosed), due now. Months already there are
// left alone. It returns how many deliveries it created.
func (db *DB) OpenPushMonths(ctx context.Context, lastClosed, now time.Time) (int64, error) {
	res := db.gorm.WithContext(ctx).Exec(`INSERT INTO push_deliveries (subscription_id, month, next_attempt_at)
		SELECT s.id, m::date, ?
		FROM push_subscriptions s JOIN organisations o ON o.id = s.organisation_id,
			generate_series(date_trunc('month', s.created_at AT TIME ZONE 'Europe/Paris') - interval '1 month',
				?::timestamp, interval '1 month') AS m
		WHERE s.active AND o.active
		ON CONFLICT (subscription_id, month) DO NOTHING`, now, lastClosed.Format("2006-01-02"))
	if res.Error != nil {
		return 0, fmt.Errorf("open push months: %w", translate(res.Error))
	}
	return res.RowsAffected, nil
}

// PushClaim is a delivery claimed for one attempt, with what sending it
// needs.
type PushClaim struct {
	DeliveryID     int64
	SubscriptionID int64
	OrgID          int64
	Month          time.Time
	Attempt        int // this attempt's number, from 1
	URL            string
	Secret         string
}

// ClaimPushDeliveries claims at most limit pending deliveries due at now,
// oldest due first, of active subscriptions: each one's attempt is counted
// and its next attempt pushed to now+lease, which must outlast a send.
func (db *DB) ClaimPushDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]PushClaim, error) {
	var out []PushClaim
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		rows, err := tx.Raw(`UPDATE push_deliveries d SET attempts = d.attempts + 1, next_attempt_at = ?
			FROM push_subscriptions s
			WHERE s.id = d.subscription_id AND d.id IN (
				SELECT d2.id FROM push_deliveries d2
					JOIN push_subscriptions s2 ON s2.id = d2.subscription_id
					JOIN organisations o2 ON o2.id = s2.organisation_id
				WHERE d2.status = 'pending' AND d2.next_attempt_at <= ? AND s2.active AND o2.active
				ORDER BY d2.next_attempt_at, d2.id LIMIT ? FOR UPDATE OF d2 SKIP LOCKED)
			RETURNING d.id, d.subscription_id, s.organisation_id, d.month, d.attempts, s.url, s.secret`,
			now.Add(lease), now, limit).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c PushClaim
			if err := rows.Scan(&c.DeliveryID, &c.SubscriptionID, &c.OrgID, &c.Month, &c.Attempt, &c.URL, &c.Secret); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim push deliveries: %w", err)
	}
	return out, nil
}

// PushOutcome is what became of one attempt.
type PushOutcome struct {
	DeliveryID int64
	Attempt    int
	At         time.Time
	Duration   time.Duration
	HTTPStatus int    // 0: no answer
	Error      string // empty when delivered
	Delivered  bool
	// Next is when to try again; nil with Delivered false: the delivery
	// has failed for good.
	Next *time.Time
}

// RecordPushAttempt logs an attempt and settles its delivery: delivered,
// pending until o.Next, or failed. The log line is always kept; the
// delivery changes only if it is still at that attempt and pending. It
// reports whether the delivery changed.
func (db *DB) RecordPushAttempt(ctx context.Context, o PushOutcome) (bool, error) {
	var status any
	if o.HTTPStatus != 0 {
		status = o.HTTPStatus
	}
	msg := pushTruncate(o.Error, 500)
	changed := false
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO push_attempts (delivery_id, attempt, at, duration_ms, http_status, error)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id, attempt) DO NOTHING`,
			o.DeliveryID, o.Attempt, o.At, max(0, o.Duration.Milliseconds()), status, msg).Error; err != nil {
			return err
		}
		next, state, delivered := any(nil), "failed", any(nil)
		switch {
		case o.Delivered:
			state, delivered = "delivered", o.At
		case o.Next != nil:
			state, next = "pending", *o.Next
		}
		res := tx.Exec(`UPDATE push_deliveries SET status = ?, next_attempt_at = ?, delivered_at = ?, last_status = ?, last_error = ?
			WHERE id = ? AND attempts = ? AND status = 'pending'`, state, next, delivered, status, msg, o.DeliveryID, o.Attempt)
		changed = res.RowsAffected == 1
		return res.Error
	})
	if err != nil {
		return false, fmt.Errorf("record push attempt %d of delivery %d: %w", o.Attempt, o.DeliveryID, err)
	}
	return changed, nil
}

// pushTruncate cuts s to at most n characters, on a character boundary.
func pushTruncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// PushDeliveryFilter narrows ListPushDeliveries.
type PushDeliveryFilter struct {
	OrgID          int64 // 0: every organisation
	SubscriptionID int64 // 0: every subscription
	Status         string
	Page           int
}

// ListPushDeliveries returns one page of deliveries, newest first.
func (db *DB) ListPushDeliveries(ctx context.Context, f PushDeliveryFilter) ([]PushDelivery, Page, error) {
	page := Page{Number: max(f.Page, 1)}
	const where = `WHERE (? = 0 OR s.organisation_id = ?) AND (? = 0 OR d.subscription_id = ?) AND (? = '' OR d.status = ?)`
	args := []any{f.OrgID, f.OrgID, f.SubscriptionID, f.SubscriptionID, f.Status, f.Status}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*)`+pushDeliveryFrom+where, args...).Row().Scan(&page.Total); err != nil {
		return nil, page, fmt.Errorf("count push deliveries: %w", err)
	}
	rows, err := g.Raw(`SELECT `+pushDeliveryColumns+pushDeliveryFrom+where+` ORDER BY d.id DESC LIMIT ? OFFSET ?`,
		append(args, PageSize, offset(f.Page))...).Rows()
	if err != nil {
		return nil, page, fmt.Errorf("list push deliveries: %w", err)
	}
	defer rows.Close()
	var out []PushDelivery
	for rows.Next() {
		d, err := scanPushDelivery(rows)
		if err != nil {
			return nil, page, fmt.Errorf("list push deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, page, rows.Err()
}

// PushDelivery returns one delivery with its attempt log; orgID, when not
// 0, scopes it to that organisation's subscriptions.
func (db *DB) PushDelivery(ctx context.Context, id, orgID int64) (PushDelivery, error) {
	g := db.gorm.WithContext(ctx)
	d, err := scanPushDelivery(g.Raw(`SELECT `+pushDeliveryColumns+pushDeliveryFrom+`WHERE d.id = ? AND (? = 0 OR s.organisation_id = ?)`,
		id, orgID, orgID).Row())
	if err != nil {
		return PushDelivery{}, fmt.Errorf("push delivery %d: %w", id, notFound(err, "push.error.delivery_not_found"))
	}
	rows, err := g.Raw(`SELECT attempt, at, duration_ms, http_status, error FROM push_attempts WHERE delivery_id = ? ORDER BY attempt`, id).Rows()
	if err != nil {
		return PushDelivery{}, fmt.Errorf("push delivery %d attempts: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a PushAttempt
		if err := rows.Scan(&a.Attempt, &a.At, &a.DurationMS, &a.HTTPStatus, &a.Error); err != nil {
			return PushDelivery{}, fmt.Errorf("push delivery %d attempts: %w", id, err)
		}
		d.Log = append(d.Log, a)
	}
	return d, rows.Err()
}
