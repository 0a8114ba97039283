package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"gorm.io/gorm"
)

// touchEvery bounds how often a session's last_seen_at is written: once a
// minute is precise enough for idle expiry and spares a write per request.
const touchEvery = time.Minute

// NewSession is a session to store; only the token's hash is kept.
type NewSession struct {
	Hash      []byte
	UserID    int64
	ExpiresAt time.Time
	IP        string
	UserAgent string
}

// CreateSession stores a session after a successful sign-in and records it.
func (db *DB) CreateSession(ctx context.Context, s NewSession, now time.Time) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if len(s.UserAgent) > 300 {
			s.UserAgent = s.UserAgent[:300]
		}
		if err := tx.Exec(`INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, bytea(s.Hash), s.UserID, now, now, s.ExpiresAt, s.IP, s.UserAgent).Error; err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE users SET last_login_at = ? WHERE id = ?`, now, s.UserID).Error; err != nil {
			return err
		}
		// Housekeeping rides on sign-ins: expired rows of anyone go.
		if err := tx.Exec(`DELETE FROM sessions WHERE expires_at < ?`, now).Error; err != nil {
			return err
		}
		var email string
		if err := tx.Raw(`SELECT email FROM users WHERE id = ?`, s.UserID).Row().Scan(&email); err != nil {
			return err
		}
		return recordEvent(tx, Event{Kind: EventLoginSucceeded, ActorUserID: s.UserID, ActorEmail: email, SubjectUserID: s.UserID, IP: s.IP})
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// A live session and who holds it, aliased sk (session), su (user) and so
// (organisation) so that other reads can join them (SessionDevicePage);
// its arguments are the hash, now and the idle limit (now - idle), as
// ? placeholders (dollars). Columns in sessionRow's order.
const (
	sessionColumnsS = `su.id, su.organisation_id, so.kind, so.name, su.org_admin, su.email, su.name, sk.last_seen_at`
	sessionFromS    = ` sessions sk JOIN users su ON su.id = sk.user_id JOIN organisations so ON so.id = su.organisation_id`
	sessionLiveS    = `sk.token_hash = ? AND sk.expires_at > ? AND sk.last_seen_at > ? AND so.active`
)

var sessionPrincipalQuery = dollars(`SELECT ` + sessionColumnsS + ` FROM` + sessionFromS + ` WHERE ` + sessionLiveS)

// sessionRow holds one row of sessionColumnsS as scanned.
type sessionRow struct {
	p        account.Principal
	lastSeen time.Time
}

func (r *sessionRow) dests() []any {
	p := &r.p
	return []any{&p.UserID, &p.OrgID, &p.OrgKind, &p.OrgName, &p.OrgAdmin, &p.Email, &p.Name, &r.lastSeen}
}

// SessionPrincipal returns who holds a session cookie, or Unauthorized when
// the session is unknown, expired, idle for longer than idle, or its
// organisation is deactivated.
func (db *DB) SessionPrincipal(ctx context.Context, hash []byte, now time.Time, idle time.Duration) (*account.Principal, error) {
	// Every signed-in request runs this: pgx directly, one prepared
	// statement, no GORM nor database/sql (devicepage.go says why).
	r := sessionRow{p: account.Principal{SessionID: hash}}
	start := time.Now()
	err := db.pool.QueryRow(ctx, sessionPrincipalQuery, hash, now, now.Add(-idle)).Scan(r.dests()...)
	db.traced(ctx, "session", start, err)
	if isNoRows(err) {
		return nil, berriz.E(berriz.Unauthorized, "error.session_expired")
	}
	if err != nil {
		return nil, fmt.Errorf("session: %w", ErrUnavailable.WithCause(err))
	}
	return db.sessionPrincipal(ctx, &r, now)
}

// sessionPrincipal finishes a session's row: the principal, the session's
// last activity recorded at most once a touchEvery.
func (db *DB) sessionPrincipal(ctx context.Context, r *sessionRow, now time.Time) (*account.Principal, error) {
	if now.Sub(r.lastSeen) > touchEvery {
		start := time.Now()
		_, err := db.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2`, now, r.p.SessionID)
		db.traced(ctx, "touch session", start, err)
		if err != nil {
			return nil, fmt.Errorf("touch session: %w", translate(err))
		}
	}
	return &r.p, nil
}

// DeleteSession ends one session (logout).
func (db *DB) DeleteSession(ctx context.Context, hash []byte, actor *account.Principal, ip string) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM sessions WHERE token_hash = ?`, bytea(hash)).Error; err != nil {
			return err
		}
		return recordEvent(tx, Event{Kind: EventLogout, Actor: actor, SubjectUserID: actor.UserID, IP: ip})
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// RevokeSessions ends every session of a user (an operator's action), and
// reports how many there were.
func (db *DB) RevokeSessions(ctx context.Context, userID int64, actor *account.Principal, ip string) (int64, error) {
	var n int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var exists bool
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)`, userID).Row().Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return berriz.E(berriz.NotFound, "error.user_not_found")
		}
		res := tx.Exec(`DELETE FROM sessions WHERE user_id = ?`, userID)
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		return recordEvent(tx, Event{Kind: EventSessionsRevoked, Actor: actor, SubjectUserID: userID, IP: ip, Detail: fmt.Sprint(n)})
	})
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of %d: %w", userID, err)
	}
	return n, nil
}

// SessionInfo describes an open session, for the user's own export.
type SessionInfo struct {
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
}

// Sessions lists a user's open sessions.
func (db *DB) Sessions(ctx context.Context, userID int64, now time.Time) ([]SessionInfo, error) {
	var out []SessionInfo
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT created_at, last_seen_at, expires_at, ip, user_agent FROM sessions
		WHERE user_id = ? AND expires_at > ? ORDER BY last_seen_at DESC`, userID, now).Rows()
	if err != nil {
		return nil, fmt.Errorf("sessions of %d: %w", userID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s SessionInfo
		if err := rows.Scan(&s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.IP, &s.UserAgent); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
