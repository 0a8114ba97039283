package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"gorm.io/gorm"
)

// EventKind names a security event.
type EventKind string

// The security events the operator can review.
const (
	EventLoginSucceeded    EventKind = "login_succeeded"
	EventLoginFailed       EventKind = "login_failed"
	EventLoginThrottled    EventKind = "login_throttled"
	EventLogout            EventKind = "logout"
	EventPasswordChanged   EventKind = "password_changed"
	EventPasswordReset     EventKind = "password_reset"
	EventResetRequested    EventKind = "password_reset_requested"
	EventSessionsRevoked   EventKind = "sessions_revoked"
	EventInvitationSent    EventKind = "invitation_sent"
	EventInvitationRevoked EventKind = "invitation_revoked"
	EventMemberJoined      EventKind = "member_joined"
	EventMemberRemoved     EventKind = "member_removed"
	EventRoleChanged       EventKind = "role_changed"
	EventAccountDeleted    EventKind = "account_deleted"
	EventOrgCreated        EventKind = "organisation_created"
	EventOrgUpdated        EventKind = "organisation_updated"
	EventOrgDeactivated    EventKind = "organisation_deactivated"
	EventOrgActivated      EventKind = "organisation_activated"
	EventTokenCreated      EventKind = "token_created"
	EventTokenRevoked      EventKind = "token_revoked"
)

// Event is one line of the security log.
type Event struct {
	ID            int64
	At            time.Time
	Kind          EventKind
	Actor         *account.Principal // who did it; nil for anonymous or the system
	ActorUserID   int64
	ActorEmail    string
	SubjectUserID int64
	SubjectOrgID  int64
	IP            string
	Detail        string
}

// recordEvent appends an event inside the transaction of the change it
// records, so the log never misses a committed change nor shows a rolled
// back one.
func recordEvent(tx *gorm.DB, e Event) error {
	if e.Actor != nil {
		e.ActorUserID, e.ActorEmail = e.Actor.UserID, e.Actor.Email
	}
	return tx.Exec(`INSERT INTO security_events (kind, actor_user_id, actor_email, subject_user_id, subject_org_id, ip, detail)
		VALUES (?, nullif(?, 0), ?, nullif(?, 0), nullif(?, 0), ?, ?)`,
		e.Kind, e.ActorUserID, e.ActorEmail, e.SubjectUserID, e.SubjectOrgID, e.IP, e.Detail).Error
}

// RecordEvent appends an event that is not part of another change (a failed
// sign-in, a logout).
func (db *DB) RecordEvent(ctx context.Context, e Event) error {
	if err := recordEvent(db.gorm.WithContext(ctx), e); err != nil {
		return fmt.Errorf("record %s: %w", e.Kind, err)
	}
	return nil
}

// EventFilter narrows ListEvents.
type EventFilter struct {
	Kind EventKind
	Page int
}

// ListEvents returns one page of the security log, newest first.
func (db *DB) ListEvents(ctx context.Context, f EventFilter) ([]Event, Page, error) {
	page := Page{Number: max(f.Page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM security_events WHERE (? = '' OR kind = ?)`, f.Kind, f.Kind).Row().Scan(&page.Total); err != nil {
		return nil, page, fmt.Errorf("count events: %w", err)
	}
	rows, err := g.Raw(`SELECT id, at, kind, coalesce(actor_user_id, 0), actor_email, coalesce(subject_user_id, 0),
			coalesce(subject_org_id, 0), ip, detail
		FROM security_events WHERE (? = '' OR kind = ?) ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`,
		f.Kind, f.Kind, PageSize, offset(f.Page)).Rows()
	if err != nil {
		return nil, page, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.At, &e.Kind, &e.ActorUserID, &e.ActorEmail, &e.SubjectUserID, &e.SubjectOrgID, &e.IP, &e.Detail); err != nil {
			return nil, page, fmt.Errorf("list events: %w", err)
		}
		out = append(out, e)
	}
	return out, page, rows.Err()
}
