package postgres

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Throttle is the sign-in throttling rule: after Free failures on a key
// (an e-mail address or an IP address), each further failure locks the key
// for Base, doubling up to Max. Counters fade after Forget without failure.
type Throttle struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
}

// DefaultThrottle lets five mistakes pass, then waits 1 s, 2 s, 4 s, ... up
// to 15 minutes.
var DefaultThrottle = Throttle{Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour}

func (t Throttle) lockFor(failures int) time.Duration {
	if failures <= t.Free {
		return 0
	}
	d := t.Base
	for i := t.Free + 1; i < failures && d < t.Max; i++ {
		d *= 2
	}
	return min(d, t.Max)
}

// LoginLockedFor returns how long sign-in stays refused for any of keys (0
// when it is allowed). The same answer is given whether or not an account
// exists, so throttling reveals nothing.
func (db *DB) LoginLockedFor(ctx context.Context, keys []string, now time.Time) (time.Duration, error) {
	var until *time.Time
	err := db.gorm.WithContext(ctx).Raw(`SELECT max(locked_until) FROM login_throttle WHERE key IN ? AND locked_until > ?`,
		keys, now).Row().Scan(&until)
	if err != nil {
		return 0, fmt.Errorf("login throttle: %w", err)
	}
	if until == nil {
		return 0, nil
	}
	return until.Sub(now), nil
}

// RecordLoginFailure counts a failure against each key and returns how long
// sign-in is now locked.
func (db *DB) RecordLoginFailure(ctx context.Context, keys []string, now time.Time, t Throttle) (time.Duration, error) {
	var locked time.Duration
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		for _, k := range keys {
			var failures int
			// Upsert under the row lock, so concurrent failures all count.
			err := tx.Raw(`INSERT INTO login_throttle (key, failures, last_failure_at) VALUES (?, 1, ?)
				ON CONFLICT (key) DO UPDATE SET
					failures = CASE WHEN login_throttle.last_failure_at < ? THEN 1 ELSE login_throttle.failures + 1 END,
					last_failure_at = excluded.last_failure_at
				RETURNING failures`, k, now, now.Add(-t.Forget)).Row().Scan(&failures)
			if err != nil {
				return err
			}
			if d := t.lockFor(failures); d > 0 {
				if err := tx.Exec(`UPDATE login_throttle SET locked_until = ? WHERE key = ?`, now.Add(d), k).Error; err != nil {
					return err
				}
				locked = max(locked, d)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("record login failure: %w", err)
	}
	return locked, nil
}

// ResetLoginFailures clears a key after a successful sign-in.
func (db *DB) ResetLoginFailures(ctx context.Context, key string) error {
	return db.gorm.WithContext(ctx).Exec(`DELETE FROM login_throttle WHERE key = ?`, key).Error
}
