package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/berriz/berriz/migrations"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationLockID is the advisory lock key goose holds while migrating, so
// that several instances starting at once apply each migration exactly once.
const migrationLockID = 0x62657272697a // "berriz"

// MigrationState describes one migration for `berriz migrate status`.
type MigrationState struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// SchemaVersions tells where the database stands against the migrations this
// binary embeds.
type SchemaVersions struct {
	Current int64 // highest version applied in the database
	Known   int64 // highest version embedded in this binary
}

// ErrSchemaTooNew is returned when the database was migrated by a newer
// berriz: running against it could corrupt data the old code does not know.
var ErrSchemaTooNew = errors.New("the database schema is newer than this berriz binary knows; upgrade berriz")

// ErrSchemaBehind is returned when migrations are pending and the caller did
// not ask to apply them.
var ErrSchemaBehind = errors.New("the database schema has pending migrations; run `berriz migrate up` or set BERRIZ_AUTO_MIGRATE=true")

func (db *DB) provider(fsys fs.FS) (*goose.Provider, error) {
	// Poll the lock every second for up to five minutes: instances started
	// together wait for the first one's migrations rather than fail.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db.sql, fsys,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration, each in its own transaction, and
// returns the versions applied. It refuses a schema newer than it knows.
func (db *DB) Migrate(ctx context.Context) ([]int64, error) {
	return db.migrateFS(ctx, migrations.FS)
}

func (db *DB) migrateFS(ctx context.Context, fsys fs.FS) ([]int64, error) {
	p, err := db.provider(fsys)
	if err != nil {
		return nil, err
	}
	if _, err := db.versions(ctx, p); err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	var applied []int64
	for _, r := range results {
		if r.Error == nil {
			applied = append(applied, r.Source.Version)
		}
	}
	if err != nil {
		return applied, fmt.Errorf("apply migrations: %w", err)
	}
	return applied, nil
}

// CheckSchema verifies that the database is exactly at the version this
// binary knows: ErrSchemaTooNew or ErrSchemaBehind otherwise.
func (db *DB) CheckSchema(ctx context.Context) (SchemaVersions, error) {
	return db.checkSchemaFS(ctx, migrations.FS)
}

func (db *DB) checkSchemaFS(ctx context.Context, fsys fs.FS) (SchemaVersions, error) {
	p, err := db.provider(fsys)
	if err != nil {
		return SchemaVersions{}, err
	}
	v, err := db.versions(ctx, p)
	if err != nil {
		return v, err
	}
	if v.Current < v.Known {
		return v, fmt.Errorf("database at version %d, binary at %d: %w", v.Current, v.Known, ErrSchemaBehind)
	}
	return v, nil
}

func (db *DB) versions(ctx context.Context, p *goose.Provider) (SchemaVersions, error) {
	var v SchemaVersions
	for _, s := range p.ListSources() {
		v.Known = max(v.Known, s.Version)
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return v, fmt.Errorf("read schema version: %w", err)
	}
	v.Current = current
	if v.Current > v.Known {
		return v, fmt.Errorf("database at version %d, binary at %d: %w", v.Current, v.Known, ErrSchemaTooNew)
	}
	return v, nil
}

// MigrationStatus lists every embedded migration and whether it is applied.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationState, SchemaVersions, error) {
	p, err := db.provider(migrations.FS)
	if err != nil {
		return nil, SchemaVersions{}, err
	}
	v, verr := db.versions(ctx, p)
	if verr != nil && !errors.Is(verr, ErrSchemaTooNew) {
		return nil, v, verr
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, v, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationState, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationState{
			Version:   s.Source.Version,
			Name:      s.Source.Path,
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, v, verr
}
