package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/jackc/pgx/v5/pgtype"
	"gorm.io/gorm"
)

// Token describes an API token; its secret is never stored, only its hash
// and a prefix to recognise it.
type Token struct {
	ID         int64      `json:"id"`
	OrgID      int64      `json:"organisation_id"`
	OrgName    string     `json:"organisation_name"`
	UserID     int64      `json:"user_id,omitempty"` // 0 for an organisation (observatory client) token
	UserEmail  string     `json:"user_email,omitempty"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"` // read or write
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// NewToken is a token to store.
type NewToken struct {
	OrgID  int64
	UserID int64 // 0 for an organisation token
	Name   string
	Scope  string
	Prefix string
	Hash   []byte
}

const tokenColumns = `t.id, t.organisation_id, o.name, coalesce(t.user_id, 0), coalesce(u.email, ''), t.name, t.scope, t.prefix,
	t.created_at, t.last_used_at, t.revoked_at`

const tokenFrom = ` FROM api_tokens t JOIN organisations o ON o.id = t.organisation_id LEFT JOIN users u ON u.id = t.user_id `

func scanToken(row interface{ Scan(...any) error }) (Token, error) {
	var t Token
	err := row.Scan(&t.ID, &t.OrgID, &t.OrgName, &t.UserID, &t.UserEmail, &t.Name, &t.Scope, &t.Prefix, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt)
	return t, err
}

// CreateToken stores a token. Organisation tokens (no user) exist only for
// observatory organisations, and observatory tokens are always read-only,
// whatever was asked.
func (db *DB) CreateToken(ctx context.Context, n NewToken, actor *account.Principal, ip string) (Token, error) {
	var t Token
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var kind string
		var active bool
		if err := tx.Raw(`SELECT kind, active FROM organisations WHERE id = ?`, n.OrgID).Row().Scan(&kind, &active); err != nil {
			return notFound(err, "error.org_not_found")
		}
		if !active {
			return berriz.E(berriz.Conflict, "error.org_inactive")
		}
		if account.OrgKind(kind).Role() == account.RoleObservatory {
			n.Scope = "read"
		} else if n.UserID == 0 {
			// A token without a person is for observatory clients only: any
			// other would be a power no one answers for.
			return &berriz.Error{Kind: berriz.Invalid, Code: "invalid", Message: "error.invalid_fields",
				Fields: map[string]string{"organisation_id": "error.org_token_observatory"}}
		}
		var userID, createdBy any
		if n.UserID != 0 {
			userID = n.UserID
		}
		if actor != nil && actor.UserID != 0 {
			createdBy = actor.UserID
		}
		var id int64
		if err := tx.Raw(`INSERT INTO api_tokens (organisation_id, user_id, name, scope, prefix, token_hash, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, n.OrgID, userID, n.Name, n.Scope, n.Prefix, bytea(n.Hash), createdBy).Row().Scan(&id); err != nil {
			return err
		}
		var err error
		if t, err = scanToken(tx.Raw(`SELECT `+tokenColumns+tokenFrom+`WHERE t.id = ?`, id).Row()); err != nil {
			return err
		}
		return recordEvent(tx, Event{Kind: EventTokenCreated, Actor: actor, SubjectUserID: n.UserID, SubjectOrgID: n.OrgID, IP: ip,
			Detail: fmt.Sprintf("%s %s (%s)", n.Prefix, n.Name, n.Scope)})
	})
	if err != nil {
		return Token{}, fmt.Errorf("create token: %w", err)
	}
	return t, nil
}

// A live token and who it acts for, aliased k (token), ko (organisation)
// and ku (user) so that other reads can join them (TokenTagView); the
// hash is $1. Columns in tokenRow's order.
const (
	tokenColumnsK = `k.id, coalesce(k.user_id, 0), k.organisation_id, ko.kind, ko.name, k.scope, k.last_used_at,
	ku.email, ku.name, ku.org_admin`
	tokenFromK = ` api_tokens k JOIN organisations ko ON ko.id = k.organisation_id LEFT JOIN users ku ON ku.id = k.user_id`
	tokenLiveK = `k.token_hash = $1 AND k.revoked_at IS NULL AND ko.active
	AND (k.user_id IS NULL OR ku.organisation_id = k.organisation_id)`
)

// tokenRow holds one row of tokenColumnsK as scanned (nullable columns
// into pgtype's values, as tagViewRow's).
type tokenRow struct {
	p                   account.Principal
	kind, scope         string
	lastUsed            pgtype.Timestamptz
	userEmail, userName pgtype.Text
	orgAdmin            pgtype.Bool
}

func (r *tokenRow) dests() []any {
	p := &r.p
	return []any{&p.TokenID, &p.UserID, &p.OrgID, &r.kind, &p.OrgName, &r.scope, &r.lastUsed, &r.userEmail, &r.userName, &r.orgAdmin}
}

// TokenPrincipal returns who a bearer token acts for, or Unauthorized when
// it is unknown, revoked, or its organisation or user is gone or inactive.
func (db *DB) TokenPrincipal(ctx context.Context, hash []byte, now time.Time) (*account.Principal, error) {
	var r tokenRow
	// Every API request runs this: pgx directly, one prepared statement,
	// no GORM nor database/sql (devicepage.go says why).
	start := time.Now()
	err := db.pool.QueryRow(ctx, `SELECT `+tokenColumnsK+` FROM`+tokenFromK+` WHERE `+tokenLiveK, hash).Scan(r.dests()...)
	db.traced(ctx, "token", start, err)
	if isNoRows(err) {
		return nil, berriz.E(berriz.Unauthorized, "error.token_invalid")
	}
	if err != nil {
		return nil, fmt.Errorf("token: %w", ErrUnavailable.WithCause(err))
	}
	return db.tokenPrincipal(ctx, &r, now)
}

// tokenPrincipal finishes a token's row: the principal, its last use
// recorded at most once a touchEvery.
func (db *DB) tokenPrincipal(ctx context.Context, r *tokenRow, now time.Time) (*account.Principal, error) {
	p := &r.p
	p.OrgKind = account.OrgKind(r.kind)
	if r.userEmail.Valid {
		p.Email, p.Name, p.OrgAdmin = r.userEmail.String, r.userName.String, r.orgAdmin.Bool
	}
	p.ReadOnly = r.scope != "write" || p.Role() == account.RoleObservatory
	if !r.lastUsed.Valid || now.Sub(r.lastUsed.Time) > touchEvery {
		start := time.Now()
		_, err := db.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, now, p.TokenID)
		db.traced(ctx, "touch token", start, err)
		if err != nil {
			return nil, fmt.Errorf("touch token: %w", translate(err))
		}
	}
	return p, nil
}

// TokenFilter narrows ListTokens: a user's own tokens, or an
// organisation's tokens (operators managing observatory clients).
type TokenFilter struct {
	UserID int64
	OrgID  int64
	// OrgTokensOnly lists only organisation tokens (no user).
	OrgTokensOnly bool
}

// ListTokens returns the live tokens matching the filter, newest first.
func (db *DB) ListTokens(ctx context.Context, f TokenFilter) ([]Token, error) {
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT `+tokenColumns+tokenFrom+`WHERE t.revoked_at IS NULL
		AND (? = 0 OR t.user_id = ?) AND (? = 0 OR t.organisation_id = ?) AND (NOT ? OR t.user_id IS NULL)
		ORDER BY t.created_at DESC, t.id DESC LIMIT 200`, f.UserID, f.UserID, f.OrgID, f.OrgID, f.OrgTokensOnly).Rows()
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token. userID, when not zero, limits it to that
// user's own tokens; orgTokens limits it to organisation tokens (operator).
func (db *DB) RevokeToken(ctx context.Context, id, userID int64, orgTokens bool, actor *account.Principal, ip string) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var orgID int64
		var prefix string
		err := tx.Raw(`UPDATE api_tokens SET revoked_at = now() WHERE id = ? AND revoked_at IS NULL
			AND (? = 0 OR user_id = ?) AND (NOT ? OR user_id IS NULL) RETURNING organisation_id, prefix`,
			id, userID, userID, orgTokens).Row().Scan(&orgID, &prefix)
		if err != nil {
			return notFound(err, "error.token_not_found")
		}
		return recordEvent(tx, Event{Kind: EventTokenRevoked, Actor: actor, SubjectUserID: userID, SubjectOrgID: orgID, IP: ip, Detail: prefix})
	})
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	return nil
}

// Secret returns a random secret shared by every instance, creating it on
// first use. The first instance to ask wins; the others read its value.
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	g := db.gorm.WithContext(ctx)
	if err := g.Exec(`INSERT INTO app_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, bytea(fresh)).Error; err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	var v []byte
	if err := g.Raw(`SELECT value FROM app_secrets WHERE name = ?`, name).Row().Scan(&v); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}
