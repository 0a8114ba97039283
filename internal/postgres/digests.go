package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// The daily digest's claim: which users get a digest now, and what it
// lists. Claiming marks the users (last_digest_at) and their pending
// notifications (sent_at) in one transaction, with the users' rows taken
// FOR UPDATE SKIP LOCKED: several instances claiming at once get disjoint
// users, and a user claimed by one is no longer eligible for the others
// once it commits. The caller sends after the commit; when a send fails
// for a reason worth retrying, ReleaseDigest puts things back so that the
// next tick tries again. A crash between the commit and the send loses
// that digest (at most once: a digest is never sent twice by design), and
// its notifications stay on the user's page.

// DigestClaim says which digests to claim.
type DigestClaim struct {
	// Now marks the notifications sent and the users' digest time.
	Now time.Time
	// Since: users whose last digest is at or after it are skipped (the
	// start of the current digest day, see docs/notifications.md).
	Since time.Time
	// Users bounds the digests claimed by one call.
	Users int
	// Items bounds the notifications one digest lists; the others are
	// marked too and counted in More.
	Items int
}

// Digest is one user's claimed digest.
type Digest struct {
	UserID int64
	Email  string
	Name   string
	Lang   string
	// Items are the newest pending notifications, newest first.
	Items []Notification
	// More counts the pending notifications beyond Items, marked as well.
	More int
	// ClaimedAt is the claim's time (DigestClaim.Now, as stored), and
	// PrevDigestAt the user's digest time before the claim: what
	// ReleaseDigest needs to undo the claim.
	ClaimedAt    time.Time
	PrevDigestAt *time.Time
}

// ClaimDigests claims the digests due: users with pending notifications,
// e-mails on, an active organisation and no digest since c.Since, at most
// c.Users of them, in id order.
func (db *DB) ClaimDigests(ctx context.Context, c DigestClaim) ([]Digest, error) {
	if c.Users < 1 || c.Items < 1 {
		return nil, fmt.Errorf("claim digests: bounds %d users, %d items", c.Users, c.Items)
	}
	// PostgreSQL keeps microseconds: the release matches on this value.
	now := c.Now.Truncate(time.Microsecond)
	var out []Digest
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = claimUsers(tx, c.Since, c.Users, now)
		if err != nil || len(out) == 0 {
			return err
		}
		ids := make([]int64, len(out))
		byUser := make(map[int64]*Digest, len(out))
		for i := range out {
			ids[i] = out[i].UserID
			byUser[out[i].UserID] = &out[i]
		}
		if err := tx.Exec(`UPDATE users SET last_digest_at = ? WHERE id IN ?`, now, ids).Error; err != nil {
			return err
		}
		// What is marked is exactly what the digest accounts for, even if
		// a notification committed since the users were read.
		marked, err := markPending(tx, ids, now)
		if err != nil {
			return err
		}
		var listed []int64
		for uid, ns := range marked {
			slices.Sort(ns)
			slices.Reverse(ns)
			n := min(len(ns), c.Items)
			listed = append(listed, ns[:n]...)
			byUser[uid].More = len(ns) - n
		}
		return loadDigestItems(tx, listed, byUser)
	})
	if err != nil {
		return nil, fmt.Errorf("claim digests: %w", err)
	}
	return out, nil
}

func claimUsers(tx *gorm.DB, since time.Time, limit int, now time.Time) ([]Digest, error) {
	rows, err := tx.Raw(`SELECT u.id, u.email, u.name, u.lang, u.last_digest_at
		FROM users u JOIN organisations o ON o.id = u.organisation_id
		WHERE u.notify_email AND o.active AND (u.last_digest_at IS NULL OR u.last_digest_at < ?)
			AND EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = u.id AND n.sent_at IS NULL)
		ORDER BY u.id LIMIT ? FOR UPDATE OF u SKIP LOCKED`, since, limit).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Digest
	for rows.Next() {
		d := Digest{ClaimedAt: now}
		if err := rows.Scan(&d.UserID, &d.Email, &d.Name, &d.Lang, &d.PrevDigestAt); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// markPending marks the users' pending notifications sent and returns
// their ids by user.
func markPending(tx *gorm.DB, userIDs []int64, now time.Time) (map[int64][]int64, error) {
	rows, err := tx.Raw(`UPDATE notifications SET sent_at = ? WHERE user_id IN ? AND sent_at IS NULL
		RETURNING id, user_id`, now, userIDs).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]int64{}
	for rows.Next() {
		var id, uid int64
		if err := rows.Scan(&id, &uid); err != nil {
			return nil, err
		}
		out[uid] = append(out[uid], id)
	}
	return out, rows.Err()
}

func loadDigestItems(tx *gorm.DB, ids []int64, byUser map[int64]*Digest) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Raw(`SELECT `+notificationColumns+` FROM notifications n WHERE n.id IN ? ORDER BY n.id DESC`, ids).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return err
		}
		d := byUser[n.UserID]
		d.Items = append(d.Items, n)
	}
	return rows.Err()
}

// ReleaseDigest undoes the claim of a digest that could not be sent: its
// notifications wait again (unless the user switched e-mails off since)
// and the user's digest time goes back, so the next tick tries again.
func (db *DB) ReleaseDigest(ctx context.Context, d Digest) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`UPDATE notifications n SET sent_at = NULL FROM users u
			WHERE u.id = n.user_id AND u.notify_email AND n.user_id = ? AND n.sent_at = ?`, d.UserID, d.ClaimedAt).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE users SET last_digest_at = ? WHERE id = ? AND last_digest_at = ?`,
			d.PrevDigestAt, d.UserID, d.ClaimedAt).Error
	})
	if err != nil {
		return fmt.Errorf("release digest of user %d: %w", d.UserID, err)
	}
	return nil
}
