package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"gorm.io/gorm"
)

// NewUser is what creating a user needs; the password is already hashed.
type NewUser struct {
	OrgID        int64
	Email        string
	Name         string
	PasswordHash string
	OrgAdmin     bool
	Lang         string
}

const userColumns = `u.id, u.organisation_id, o.name, o.kind, o.active, u.email, u.name, u.org_admin, u.lang,
	u.password_hash, u.created_at, u.last_login_at`

func scanUser(row interface{ Scan(...any) error }) (account.User, error) {
	var u account.User
	err := row.Scan(&u.ID, &u.OrgID, &u.OrgName, &u.OrgKind, &u.OrgActive, &u.Email, &u.Name, &u.OrgAdmin, &u.Lang,
		&u.PasswordHash, &u.CreatedAt, &u.LastLoginAt)
	return u, err
}

// CreateUser adds a user to an organisation (bootstrap, demo, accepted
// invitations).
func (db *DB) CreateUser(ctx context.Context, n NewUser, actor *account.Principal, ip string) (account.User, error) {
	var u account.User
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		u, err = createUser(tx, n)
		if err != nil {
			return err
		}
		return recordEvent(tx, Event{Kind: EventMemberJoined, Actor: actor, SubjectUserID: u.ID, SubjectOrgID: n.OrgID, IP: ip, Detail: n.Email})
	})
	if err != nil {
		return account.User{}, fmt.Errorf("create user %s: %w", n.Email, err)
	}
	return u, nil
}

func createUser(tx *gorm.DB, n NewUser) (account.User, error) {
	if n.Lang == "" {
		n.Lang = "fr"
	}
	var id int64
	err := tx.Raw(`INSERT INTO users (organisation_id, email, name, password_hash, org_admin, lang)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, n.OrgID, n.Email, n.Name, n.PasswordHash, n.OrgAdmin, n.Lang).Row().Scan(&id)
	if err != nil {
		if berriz.KindOf(translate(err)) == berriz.Conflict {
			return account.User{}, &berriz.Error{Kind: berriz.Conflict, Code: "conflict", Message: "error.invalid_fields",
				Fields: map[string]string{"email": "error.email_taken"}, Err: err}
		}
		return account.User{}, err
	}
	return scanUser(tx.Raw(`SELECT `+userColumns+` FROM users u JOIN organisations o ON o.id = u.organisation_id WHERE u.id = ?`, id).Row())
}

// User returns one user; scope, when not zero, restricts the lookup to that
// organisation so an organisation admin can never reach another's members.
func (db *DB) User(ctx context.Context, id, scope int64) (account.User, error) {
	u, err := scanUser(db.gorm.WithContext(ctx).Raw(`SELECT `+userColumns+` FROM users u JOIN organisations o ON o.id = u.organisation_id
		WHERE u.id = ? AND (? = 0 OR u.organisation_id = ?)`, id, scope, scope).Row())
	if err != nil {
		return u, fmt.Errorf("user %d: %w", id, notFound(err, "error.user_not_found"))
	}
	return u, nil
}

// UserByEmail returns the user with that address (case-insensitive).
func (db *DB) UserByEmail(ctx context.Context, email string) (account.User, error) {
	u, err := scanUser(db.gorm.WithContext(ctx).Raw(`SELECT `+userColumns+` FROM users u JOIN organisations o ON o.id = u.organisation_id
		WHERE u.email = ?`, email).Row())
	if err != nil {
		return u, fmt.Errorf("user by email: %w", notFound(err, "error.user_not_found"))
	}
	return u, nil
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	OrgID int64 // 0: every organisation
	Query string
	Page  int
}

// ListUsers returns one page of users, by name.
func (db *DB) ListUsers(ctx context.Context, f UserFilter) ([]account.User, Page, error) {
	cond := `(? = 0 OR u.organisation_id = ?) AND (? = '' OR u.name ILIKE ? OR u.email ILIKE ?)`
	q := strings.TrimSpace(f.Query)
	like := "%" + escapeLike(q) + "%"
	args := []any{f.OrgID, f.OrgID, q, like, like}
	page := Page{Number: max(f.Page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM users u WHERE `+cond, args...).Row().Scan(&page.Total); err != nil {
		return nil, page, fmt.Errorf("count users: %w", err)
	}
	rows, err := g.Raw(`SELECT `+userColumns+` FROM users u JOIN organisations o ON o.id = u.organisation_id
		WHERE `+cond+` ORDER BY o.name, u.name, u.id LIMIT ? OFFSET ?`, append(args, PageSize, offset(f.Page))...).Rows()
	if err != nil {
		return nil, page, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []account.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, page, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, page, rows.Err()
}

// UpdateProfile changes a user's own name and language.
func (db *DB) UpdateProfile(ctx context.Context, userID int64, name, lang string) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE users SET name = ?, lang = ? WHERE id = ?`, name, lang, userID)
		if res.Error == nil && res.RowsAffected == 0 {
			return berriz.E(berriz.NotFound, "error.user_not_found")
		}
		return res.Error
	})
	if err != nil {
		return fmt.Errorf("update profile %d: %w", userID, err)
	}
	return nil
}

// SetPassword stores a new password hash and ends every other session of the
// user (keep is the session that changed it, or nil).
func (db *DB) SetPassword(ctx context.Context, userID int64, hash string, keep []byte, actor *account.Principal, ip string) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return berriz.E(berriz.NotFound, "error.user_not_found")
		}
		if err := tx.Exec(`DELETE FROM sessions WHERE user_id = ? AND token_hash IS DISTINCT FROM ?`, userID, bytea(keep)).Error; err != nil {
			return err
		}
		return recordEvent(tx, Event{Kind: EventPasswordChanged, Actor: actor, SubjectUserID: userID, IP: ip})
	})
	if err != nil {
		return fmt.Errorf("set password %d: %w", userID, err)
	}
	return nil
}

// RehashPassword replaces a hash made with older parameters, after a
// successful sign-in; it is not a security event.
func (db *DB) RehashPassword(ctx context.Context, userID int64, hash string) error {
	return db.gorm.WithContext(ctx).Exec(`UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID).Error
}

// SetOrgAdmin grants or removes the organisation-admin flag. scope limits it
// to one organisation (0 for operators).
func (db *DB) SetOrgAdmin(ctx context.Context, userID, scope int64, admin bool, actor *account.Principal, ip string) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		u, err := lockUser(tx, userID, scope)
		if err != nil {
			return err
		}
		if !admin && u.OrgAdmin {
			if err := keepAnAdmin(tx, u, false); err != nil {
				return err
			}
		}
		if err := tx.Exec(`UPDATE users SET org_admin = ? WHERE id = ?`, admin, userID).Error; err != nil {
			return err
		}
		return recordEvent(tx, Event{Kind: EventRoleChanged, Actor: actor, SubjectUserID: userID, SubjectOrgID: u.OrgID, IP: ip,
			Detail: fmt.Sprintf("org_admin=%v", admin)})
	})
	if err != nil {
		return fmt.Errorf("set org admin %d: %w", userID, err)
	}
	return nil
}

// DeleteUser removes a user (its own account deletion, or a member removed
// by an admin). The last operator, and the last admin of an organisation
// that has other members, cannot be removed: someone must stay in charge.
func (db *DB) DeleteUser(ctx context.Context, userID, scope int64, actor *account.Principal, ip string) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		u, err := lockUser(tx, userID, scope)
		if err != nil {
			return err
		}
		if err := keepAnAdmin(tx, u, true); err != nil {
			return err
		}
		// The security log keeps the id, not the address, of a deleted user.
		if err := tx.Exec(`UPDATE security_events SET actor_email = '' WHERE actor_user_id = ?`, userID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM users WHERE id = ?`, userID).Error; err != nil {
			return err
		}
		kind := EventMemberRemoved
		if actor != nil && actor.UserID == userID {
			kind, actor = EventAccountDeleted, nil
		}
		return recordEvent(tx, Event{Kind: kind, Actor: actor, SubjectUserID: userID, SubjectOrgID: u.OrgID, IP: ip})
	})
	if err != nil {
		return fmt.Errorf("delete user %d: %w", userID, err)
	}
	return nil
}

func lockUser(tx *gorm.DB, userID, scope int64) (account.User, error) {
	u, err := scanUser(tx.Raw(`SELECT `+userColumns+` FROM users u JOIN organisations o ON o.id = u.organisation_id
		WHERE u.id = ? AND (? = 0 OR u.organisation_id = ?) FOR UPDATE OF u`, userID, scope, scope).Row())
	return u, notFound(err, "error.user_not_found")
}

// keepAnAdmin refuses to remove u (deleting) or u's admin flag when nobody
// else would be in charge: the last operator of the platform, or the last
// admin of an organisation that still has other members.
func keepAnAdmin(tx *gorm.DB, u account.User, deleting bool) error {
	if deleting && u.Role() == account.RoleOperator {
		var others int
		if err := tx.Raw(`SELECT count(*) FROM users x JOIN organisations o ON o.id = x.organisation_id
			WHERE o.kind = 'operator' AND o.active AND x.id <> ?`, u.ID).Row().Scan(&others); err != nil {
			return err
		}
		if others == 0 {
			return berriz.E(berriz.Conflict, "error.last_operator")
		}
	}
	if !u.OrgAdmin {
		return nil
	}
	var admins, members int
	if err := tx.Raw(`SELECT count(*) FILTER (WHERE org_admin), count(*) FROM users WHERE organisation_id = ? AND id <> ?`,
		u.OrgID, u.ID).Row().Scan(&admins, &members); err != nil {
		return err
	}
	if admins == 0 && members > 0 {
		return berriz.E(berriz.Conflict, "error.last_admin")
	}
	return nil
}
