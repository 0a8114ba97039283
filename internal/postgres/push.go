package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"gorm.io/gorm"
)

// Observatory push subscriptions (docs/observatory-push.md): the URLs an
// observatory organisation receives each closed month's totals at. The
// secret is stored because berriz signs with it, and returned by
// CreatePushSubscription only: every other read gives its prefix.

// Security events of the push.
const (
	EventPushSubscribed   EventKind = "push_subscription_created"
	EventPushUnsubscribed EventKind = "push_subscription_deactivated"
)

// PushSubscription is one registered URL.
type PushSubscription struct {
	ID            int64      `json:"id"`
	OrgID         int64      `json:"organisation_id"`
	OrgName       string     `json:"organisation_name"`
	URL           string     `json:"url"`
	SecretPrefix  string     `json:"secret_prefix"`
	Active        bool       `json:"active"`
	CreatedAt     time.Time  `json:"created_at"`
	DeactivatedAt *time.Time `json:"deactivated_at"`
}

// Listings show a secret's first 9 characters ("bzwh_" and 4 more), enough
// to recognise it, never to use it.
const pushSubColumns = `s.id, s.organisation_id, o.name, s.url, left(s.secret, 9), s.active, s.created_at, s.deactivated_at`

const pushSubFrom = ` FROM push_subscriptions s JOIN organisations o ON o.id = s.organisation_id `

func scanPushSub(row interface{ Scan(...any) error }) (PushSubscription, error) {
	var p PushSubscription
	err := row.Scan(&p.ID, &p.OrgID, &p.OrgName, &p.URL, &p.SecretPrefix, &p.Active, &p.CreatedAt, &p.DeactivatedAt)
	return p, err
}

// CreatePushSubscription registers url for an observatory organisation,
// signed with secret (drawn by the caller, see push.NewSecret). The
// organisation must be an active observatory; the URL must already have
// been checked (push.CheckURL).
func (db *DB) CreatePushSubscription(ctx context.Context, orgID int64, url, secret string, actor *account.Principal, ip string) (PushSubscription, error) {
	var out PushSubscription
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var kind string
		var active bool
		// FOR SHARE: a deactivation of the organisation waits for us, or
		// we see it.
		if err := tx.Raw(`SELECT kind, active FROM organisations WHERE id = ? FOR SHARE`, orgID).Row().Scan(&kind, &active); err != nil {
			return notFound(err, "error.org_not_found")
		}
		if account.OrgKind(kind) != account.KindObservatory {
			f := berriz.FieldErrors{}
			f.Add("organisation_id", "push.error.not_observatory")
			return f.Err()
		}
		if !active {
			return berriz.E(berriz.Conflict, "error.org_inactive")
		}
		var createdBy any
		if actor != nil && actor.UserID != 0 {
			createdBy = actor.UserID
		}
		var id int64
		if err := tx.Raw(`INSERT INTO push_subscriptions (organisation_id, url, secret, created_by) VALUES (?, ?, ?, ?) RETURNING id`,
			orgID, url, secret, createdBy).Row().Scan(&id); err != nil {
			return err
		}
		var err error
		if out, err = scanPushSub(tx.Raw(`SELECT `+pushSubColumns+pushSubFrom+`WHERE s.id = ?`, id).Row()); err != nil {
			return err
		}
		return recordEvent(tx, Event{Kind: EventPushSubscribed, Actor: actor, SubjectOrgID: orgID, IP: ip,
			Detail: fmt.Sprintf("#%d %s", id, url)})
	})
	if err != nil {
		return PushSubscription{}, fmt.Errorf("create push subscription: %w", err)
	}
	return out, nil
}

// PushSubscription returns one subscription; orgID, when not 0, scopes the
// lookup to that organisation's (another's is not found).
func (db *DB) PushSubscription(ctx context.Context, id, orgID int64) (PushSubscription, error) {
	p, err := scanPushSub(db.gorm.WithContext(ctx).Raw(`SELECT `+pushSubColumns+pushSubFrom+`WHERE s.id = ? AND (? = 0 OR s.organisation_id = ?)`,
		id, orgID, orgID).Row())
	if err != nil {
		return PushSubscription{}, fmt.Errorf("push subscription %d: %w", id, notFound(err, "push.error.subscription_not_found"))
	}
	return p, nil
}

// ListPushSubscriptions returns the subscriptions of an organisation (0:
// every organisation), newest first, at most 200: a handful per
// observatory is the expected use.
func (db *DB) ListPushSubscriptions(ctx context.Context, orgID int64) ([]PushSubscription, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT `+pushSubColumns+pushSubFrom+`WHERE (? = 0 OR s.organisation_id = ?)
		ORDER BY s.id DESC LIMIT 200`, orgID, orgID).Rows()
	if err != nil {
		return nil, fmt.Errorf("list push subscriptions: %w", err)
	}
	defer rows.Close()
	var out []PushSubscription
	for rows.Next() {
		p, err := scanPushSub(rows)
		if err != nil {
			return nil, fmt.Errorf("list push subscriptions: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeactivatePushSubscription stops a subscription for good (register a new
// one to resume): nothing more is sent to it, and its pending deliveries
// fail with that reason. orgID, when not 0, scopes it as in
// PushSubscription. Deactivating an inactive subscription changes nothing.
func (db *DB) DeactivatePushSubscription(ctx context.Context, id, orgID int64, now time.Time, actor *account.Principal, ip string) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var active bool
		var org int64
		var url string
		if err := tx.Raw(`SELECT active, organisation_id, url FROM push_subscriptions WHERE id = ? AND (? = 0 OR organisation_id = ?) FOR UPDATE`,
			id, orgID, orgID).Row().Scan(&active, &org, &url); err != nil {
			return notFound(err, "push.error.subscription_not_found")
		}
		if !active {
			return nil
		}
		if err := tx.Exec(`UPDATE push_subscriptions SET active = false, deactivated_at = ? WHERE id = ?`, now, id).Error; err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE push_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = 'subscription deactivated'
			WHERE subscription_id = ? AND status = 'pending'`, id).Error; err != nil {
			return err
		}
		return recordEvent(tx, Event{Kind: EventPushUnsubscribed, Actor: actor, SubjectOrgID: org, IP: ip,
			Detail: fmt.Sprintf("#%d %s", id, url)})
	})
	if err != nil {
		return fmt.Errorf("deactivate push subscription %d: %w", id, err)
	}
	return nil
}
