package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"gorm.io/gorm"
)

// Invitation is a single-use, expiring link to join an organisation.
type Invitation struct {
	ID         int64      `json:"id"`
	OrgID      int64      `json:"organisation_id"`
	OrgName    string     `json:"organisation_name"`
	OrgKind    string     `json:"organisation_kind"`
	Email      string     `json:"email"`
	OrgAdmin   bool       `json:"org_admin"`
	Lang       string     `json:"lang"`
	InvitedBy  string     `json:"invited_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Pending reports whether the invitation can still be accepted.
func (i Invitation) Pending(now time.Time) bool {
	return i.AcceptedAt == nil && i.RevokedAt == nil && now.Before(i.ExpiresAt)
}

// NewInvitation is an invitation to store; only the token's hash is kept.
type NewInvitation struct {
	Hash      []byte
	OrgID     int64
	Email     string
	OrgAdmin  bool
	Lang      string
	ExpiresAt time.Time
}

const invitationColumns = `i.id, i.organisation_id, o.name, o.kind, i.email, i.org_admin, i.lang,
	coalesce(u.email, ''), i.created_at, i.expires_at, i.accepted_at, i.revoked_at`

func scanInvitation(row interface{ Scan(...any) error }) (Invitation, error) {
	var i Invitation
	err := row.Scan(&i.ID, &i.OrgID, &i.OrgName, &i.OrgKind, &i.Email, &i.OrgAdmin, &i.Lang, &i.InvitedBy,
		&i.CreatedAt, &i.ExpiresAt, &i.AcceptedAt, &i.RevokedAt)
	return i, err
}

const invitationFrom = ` FROM invitations i JOIN organisations o ON o.id = i.organisation_id LEFT JOIN users u ON u.id = i.invited_by `

// CreateInvitation stores an invitation, replacing any pending one for the
// same address. An address that already has an account cannot be invited,
// nor can anyone join a deactivated organisation.
func (db *DB) CreateInvitation(ctx context.Context, n NewInvitation, actor *account.Principal, ip string) (Invitation, error) {
	var inv Invitation
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var active bool
		if err := tx.Raw(`SELECT active FROM organisations WHERE id = ? FOR SHARE`, n.OrgID).Row().Scan(&active); err != nil {
			return notFound(err, "error.org_not_found")
		}
		if !active {
			return berriz.E(berriz.Conflict, "error.org_inactive")
		}
		var taken bool
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM users WHERE email = ?)`, n.Email).Row().Scan(&taken); err != nil {
			return err
		}
		if taken {
			return &berriz.Error{Kind: berriz.Conflict, Code: "conflict", Message: "error.invalid_fields",
				Fields: map[string]string{"email": "error.email_taken"}}
		}
		if err := tx.Exec(`UPDATE invitations SET revoked_at = now() WHERE email = ? AND accepted_at IS NULL AND revoked_at IS NULL`,
			n.Email).Error; err != nil {
			return err
		}
		var invitedBy any
		if actor != nil && actor.UserID != 0 {
			invitedBy = actor.UserID
		}
		var id int64
		if err := tx.Raw(`INSERT INTO invitations (token_hash, organisation_id, email, org_admin, lang, invited_by, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, bytea(n.Hash), n.OrgID, n.Email, n.OrgAdmin, n.Lang, invitedBy, n.ExpiresAt).Row().Scan(&id); err != nil {
			return err
		}
		var err error
		if inv, err = scanInvitation(tx.Raw(`SELECT `+invitationColumns+invitationFrom+`WHERE i.id = ?`, id).Row()); err != nil {
			return err
		}
		return recordEvent(tx, Event{Kind: EventInvitationSent, Actor: actor, SubjectOrgID: n.OrgID, IP: ip,
			Detail: fmt.Sprintf("%s org_admin=%v", n.Email, n.OrgAdmin)})
	})
	if err != nil {
		return Invitation{}, fmt.Errorf("invite %s: %w", n.Email, err)
	}
	return inv, nil
}

// InvitationByToken returns a pending invitation from the hash of its link's
// token, or NotFound when it is unknown, used, revoked or expired.
func (db *DB) InvitationByToken(ctx context.Context, hash []byte, now time.Time) (Invitation, error) {
	inv, err := scanInvitation(db.gorm.WithContext(ctx).Raw(`SELECT `+invitationColumns+invitationFrom+`WHERE i.token_hash = ?`, bytea(hash)).Row())
	if err != nil || !inv.Pending(now) {
		if err == nil || isNoRows(err) {
			return Invitation{}, berriz.E(berriz.NotFound, "error.invitation_invalid")
		}
		return Invitation{}, fmt.Errorf("invitation: %w", err)
	}
	return inv, nil
}

// AcceptInvitation creates the invited user and marks the invitation used,
// once: two concurrent acceptances give one account and one NotFound.
func (db *DB) AcceptInvitation(ctx context.Context, hash []byte, name, passwordHash string, now time.Time, ip string) (account.User, error) {
	var u account.User
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		inv, err := scanInvitation(tx.Raw(`SELECT `+invitationColumns+invitationFrom+`WHERE i.token_hash = ? FOR UPDATE OF i`, bytea(hash)).Row())
		if isNoRows(err) || err == nil && !inv.Pending(now) {
			return berriz.E(berriz.NotFound, "error.invitation_invalid")
		}
		if err != nil {
			return err
		}
		var active bool
		if err := tx.Raw(`SELECT active FROM organisations WHERE id = ?`, inv.OrgID).Row().Scan(&active); err != nil {
			return err
		}
		if !active {
			return berriz.E(berriz.Conflict, "error.org_inactive")
		}
		if u, err = createUser(tx, NewUser{OrgID: inv.OrgID, Email: inv.Email, Name: name, PasswordHash: passwordHash,
			OrgAdmin: inv.OrgAdmin, Lang: inv.Lang}); err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE invitations SET accepted_at = ? WHERE id = ?`, now, inv.ID).Error; err != nil {
			return err
		}
		return recordEvent(tx, Event{Kind: EventMemberJoined, ActorUserID: u.ID, ActorEmail: u.Email, SubjectUserID: u.ID,
			SubjectOrgID: inv.OrgID, IP: ip, Detail: fmt.Sprintf("invitation %d org_admin=%v", inv.ID, inv.OrgAdmin)})
	})
	if err != nil {
		return account.User{}, fmt.Errorf("accept invitation: %w", err)
	}
	return u, nil
}

// InvitationFilter narrows ListInvitations.
type InvitationFilter struct {
	OrgID int64 // 0: every organisation
	Page  int
}

// ListInvitations returns one page of pending invitations, newest first.
func (db *DB) ListInvitations(ctx context.Context, f InvitationFilter, now time.Time) ([]Invitation, Page, error) {
	cond := `i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ? AND (? = 0 OR i.organisation_id = ?)`
	args := []any{now, f.OrgID, f.OrgID}
	page := Page{Number: max(f.Page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM invitations i WHERE `+cond, args...).Row().Scan(&page.Total); err != nil {
		return nil, page, fmt.Errorf("count invitations: %w", err)
	}
	rows, err := g.Raw(`SELECT `+invitationColumns+invitationFrom+`WHERE `+cond+` ORDER BY i.created_at DESC, i.id DESC LIMIT ? OFFSET ?`,
		append(args, PageSize, offset(f.Page))...).Rows()
	if err != nil {
		return nil, page, fmt.Errorf("list invitations: %w", err)
	}
	defer rows.Close()
	var out []Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, page, err
		}
		out = append(out, inv)
	}
	return out, page, rows.Err()
}

// RevokeInvitation cancels a pending invitation; scope limits it to one
// organisation (0 for operators).
func (db *DB) RevokeInvitation(ctx context.Context, id, scope int64, actor *account.Principal, ip string) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var orgID int64
		var email string
		err := tx.Raw(`UPDATE invitations SET revoked_at = now() WHERE id = ? AND (? = 0 OR organisation_id = ?)
			AND accepted_at IS NULL AND revoked_at IS NULL RETURNING organisation_id, email`, id, scope, scope).Row().Scan(&orgID, &email)
		if err != nil {
			return notFound(err, "error.invitation_invalid")
		}
		return recordEvent(tx, Event{Kind: EventInvitationRevoked, Actor: actor, SubjectOrgID: orgID, IP: ip, Detail: email})
	})
	if err != nil {
		return fmt.Errorf("revoke invitation %d: %w", id, err)
	}
	return nil
}

// CreatePasswordReset stores a reset link's token hash for a user.
func (db *DB) CreatePasswordReset(ctx context.Context, userID int64, hash []byte, expires time.Time, ip string) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		// One live link at a time: a new request voids the previous ones.
		if err := tx.Exec(`DELETE FROM password_resets WHERE user_id = ?`, userID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES (?, ?, ?)`, bytea(hash), userID, expires).Error; err != nil {
			return err
		}
		return recordEvent(tx, Event{Kind: EventResetRequested, SubjectUserID: userID, IP: ip})
	})
	if err != nil {
		return fmt.Errorf("password reset for %d: %w", userID, err)
	}
	return nil
}

// PasswordResetUser returns the user a valid reset link belongs to.
func (db *DB) PasswordResetUser(ctx context.Context, hash []byte, now time.Time) (account.User, error) {
	var userID int64
	err := db.gorm.WithContext(ctx).Raw(`SELECT user_id FROM password_resets WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`,
		bytea(hash), now).Row().Scan(&userID)
	if err != nil {
		return account.User{}, fmt.Errorf("password reset: %w", notFound(err, "error.reset_invalid"))
	}
	return db.User(ctx, userID, 0)
}

// ResetPassword sets a new password through a reset link, once, and ends
// every session of the user.
func (db *DB) ResetPassword(ctx context.Context, hash []byte, passwordHash string, now time.Time, ip string) (account.User, error) {
	var userID int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		err := tx.Raw(`UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
			RETURNING user_id`, now, bytea(hash), now).Row().Scan(&userID)
		if err != nil {
			return notFound(err, "error.reset_invalid")
		}
		if err := tx.Exec(`UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, userID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM sessions WHERE user_id = ?`, userID).Error; err != nil {
			return err
		}
		return recordEvent(tx, Event{Kind: EventPasswordReset, ActorUserID: userID, SubjectUserID: userID, IP: ip})
	})
	if err != nil {
		return account.User{}, fmt.Errorf("reset password: %w", err)
	}
	return db.User(ctx, userID, 0)
}
