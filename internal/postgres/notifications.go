package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// What a user reads about notifications (their page, their API) and the
// switch that stops the e-mails. notify.go writes notifications inside the
// changes they tell about; digests.go mails them. A notification's sent_at
// says the digest is done with it: it was mailed, or it never will be
// because its user switched e-mails off. Every notification stays on the
// user's page until the clean-up deletes it (NotificationRetention).

// NotificationRetention is how long notifications are kept, mailed or not:
// the page of recent notifications shows this much history.
const NotificationRetention = 90 * 24 * time.Hour

// Notification is one thing a user was told.
type Notification struct {
	ID     int64             `json:"id"`
	UserID int64             `json:"-"`
	Kind   string            `json:"kind"`
	Args   map[string]string `json:"args"`
	// Link is a path without language prefix, or "".
	Link      string    `json:"link"`
	CreatedAt time.Time `json:"created_at"`
	// Pending is true while the notification waits for the user's next
	// digest.
	Pending bool `json:"pending"`
}

// NotificationSettings is a user's choice about e-mails, and where its
// digests stand.
type NotificationSettings struct {
	Email        bool       `json:"email"`
	LastDigestAt *time.Time `json:"last_digest_at"`
	// Pending counts the notifications waiting for the next digest.
	Pending int `json:"pending"`
}

const notificationColumns = `n.id, n.user_id, n.kind, n.args, n.link, n.created_at, n.sent_at IS NULL`

func scanNotification(row interface{ Scan(...any) error }) (Notification, error) {
	var (
		n   Notification
		raw []byte
	)
	if err := row.Scan(&n.ID, &n.UserID, &n.Kind, &raw, &n.Link, &n.CreatedAt, &n.Pending); err != nil {
		return n, err
	}
	// args is a JSON object of strings by construction (notifyWhere); a
	// value of another type is dropped rather than failing the whole list.
	var args map[string]any
	if err := json.Unmarshal(raw, &args); err != nil {
		return n, fmt.Errorf("notification %d args: %w", n.ID, err)
	}
	n.Args = make(map[string]string, len(args))
	for k, v := range args {
		if s, ok := v.(string); ok {
			n.Args[k] = s
		}
	}
	return n, nil
}

// Notifications returns one page of a user's notifications, newest first.
func (db *DB) Notifications(ctx context.Context, userID int64, page int) ([]Notification, Page, error) {
	p := Page{Number: max(page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM notifications WHERE user_id = ?`, userID).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count notifications of user %d: %w", userID, err)
	}
	rows, err := g.Raw(`SELECT `+notificationColumns+` FROM notifications n WHERE n.user_id = ?
		ORDER BY n.id DESC LIMIT ? OFFSET ?`, userID, PageSize, offset(p.Number)).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("notifications of user %d: %w", userID, err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, p, fmt.Errorf("notifications of user %d: %w", userID, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, p, fmt.Errorf("notifications of user %d: %w", userID, err)
	}
	return out, p, nil
}

// NotificationSettings returns a user's choice about e-mails.
func (db *DB) NotificationSettings(ctx context.Context, userID int64) (NotificationSettings, error) {
	s, err := notificationSettings(db.gorm.WithContext(ctx), userID, false)
	if err != nil {
		return s, fmt.Errorf("notification settings of user %d: %w", userID, err)
	}
	return s, nil
}

func notificationSettings(g *gorm.DB, userID int64, lock bool) (NotificationSettings, error) {
	q := `SELECT u.notify_email, u.last_digest_at,
		(SELECT count(*) FROM notifications n WHERE n.user_id = u.id AND n.sent_at IS NULL)
		FROM users u WHERE u.id = ?`
	if lock {
		q += ` FOR UPDATE`
	}
	var s NotificationSettings
	err := g.Raw(q, userID).Row().Scan(&s.Email, &s.LastDigestAt, &s.Pending)
	return s, notFound(err, "error.user_not_found")
}

// SetNotificationEmail switches a user's e-mails on or off. Switching off
// also settles the notifications waiting for a digest (they stay on the
// page): they will never be mailed, and must not wait for a digest that
// will not come. The user's row lock orders this against a digest being
// claimed for the user.
func (db *DB) SetNotificationEmail(ctx context.Context, userID int64, on bool, now time.Time) (NotificationSettings, error) {
	var s NotificationSettings
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := notificationSettings(tx, userID, true); err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE users SET notify_email = ? WHERE id = ?`, on, userID).Error; err != nil {
			return err
		}
		if !on {
			if err := tx.Exec(`UPDATE notifications SET sent_at = ? WHERE user_id = ? AND sent_at IS NULL`, now, userID).Error; err != nil {
				return err
			}
		}
		var err error
		s, err = notificationSettings(tx, userID, false)
		return err
	})
	if err != nil {
		return s, fmt.Errorf("set notification e-mail of user %d to %t: %w", userID, on, err)
	}
	return s, nil
}

// cleanBatch bounds the rows one clean-up run touches, so that its
// transaction stays short; the next tick goes on.
const cleanBatch = 5000

// Cleaned says what CleanNotifications did.
type Cleaned struct {
	Settled int64 // pending notifications of users who switched e-mails off
	Deleted int64 // notifications past the retention period
}

// CleanNotifications deletes notifications created before now -
// NotificationRetention, mailed or not (a deactivated organisation's, for
// one), then settles the pending notifications of users who switched
// e-mails off (written by a change that raced with the switch). Rows another
// instance is cleaning are skipped.
func (db *DB) CleanNotifications(ctx context.Context, now time.Time) (Cleaned, error) {
	var c Cleaned
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM notifications WHERE id IN (
			SELECT id FROM notifications WHERE created_at < ? LIMIT ? FOR UPDATE SKIP LOCKED)`,
			now.Add(-NotificationRetention), cleanBatch)
		if res.Error != nil {
			return res.Error
		}
		c.Deleted = res.RowsAffected
		res = tx.Exec(`UPDATE notifications SET sent_at = ? WHERE id IN (
			SELECT n.id FROM notifications n JOIN users u ON u.id = n.user_id
			WHERE n.sent_at IS NULL AND NOT u.notify_email
			LIMIT ? FOR UPDATE OF n SKIP LOCKED)`, now, cleanBatch)
		if res.Error != nil {
			return res.Error
		}
		c.Settled = res.RowsAffected
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("clean notifications: %w", err)
	}
	return c, nil
}
