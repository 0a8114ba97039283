package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/jackc/pgx/v5"
)

// Reads joined to a principal's: the bearer token's or the session's row
// read in the same statement as the object a request asks for
// (TokenTagView, SessionDevicePage, SessionDeviceByTag), one round trip
// instead of two on the scans' hot path. The object is read without any
// scope; the caller applies the principal's (Within) before showing it.

// principalRow is the principal's part of such a row: its scan
// destinations, and the principal once scanned (its last use recorded).
type principalRow interface {
	dests() []any
	principal(ctx context.Context, db *DB, now time.Time) (*account.Principal, error)
}

func (r *tokenRow) principal(ctx context.Context, db *DB, now time.Time) (*account.Principal, error) {
	return db.tokenPrincipal(ctx, r, now)
}

func (r *sessionRow) principal(ctx context.Context, db *DB, now time.Time) (*account.Principal, error) {
	return db.sessionPrincipal(ctx, r, now)
}

// joinedRead runs query, whose row scan reads with the principal's
// destinations after the object's own, and returns the principal. When it
// finds no row, alone reads the principal again: its refusal
// (Unauthorized) is returned as is, else the principal with missing()
// (the object's NotFound).
func (db *DB) joinedRead(ctx context.Context, what string, now time.Time, pr principalRow, query string, args []any,
	scan func(row pgx.Row, principal []any) error, alone func() (*account.Principal, error), missing func() error) (*account.Principal, error) {
	start := time.Now()
	err := scan(db.pool.QueryRow(ctx, query, args...), pr.dests())
	db.traced(ctx, what, start, err)
	if isNoRows(err) {
		p, err := alone()
		if err != nil {
			return nil, err
		}
		return p, missing()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, ErrUnavailable.WithCause(err))
	}
	return pr.principal(ctx, db, now)
}

// sessionJoined is joinedRead for a session cookie (sessionColumnsS after
// the object's columns; the query's last arguments are the session's).
func (db *DB) sessionJoined(ctx context.Context, what string, hash []byte, now time.Time, idle time.Duration, query string,
	args []any, scan func(row pgx.Row, session []any) error, missing func() error) (*account.Principal, error) {
	r := &sessionRow{p: account.Principal{SessionID: hash}}
	return db.joinedRead(ctx, what, now, r, query, append(args, hash, now, now.Add(-idle)), scan,
		func() (*account.Principal, error) { return db.SessionPrincipal(ctx, hash, now, idle) }, missing)
}
