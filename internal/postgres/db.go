// Package postgres is berriz's only door to PostgreSQL and the only package
// that imports GORM: connection pool, migrations, transactions and, as the
// domain grows, the stores that map domain types to tables.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Options configure the pool. Zero values take the defaults of
// internal/config.
type Options struct {
	URL             string
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
	// ConnectTimeout bounds how long Open waits for the server to answer:
	// a server started together with its database (compose, CI) retries
	// instead of failing on the first refused connection.
	ConnectTimeout time.Duration
	Logger         *slog.Logger
}

// DB is the connection pool shared by every request of one berriz instance:
// one pgxpool, which the hottest reads use directly (sessions, tokens, tag
// and device lookups: devicepage.go says why), and GORM and database/sql
// use through pgx's stdlib adapter.
type DB struct {
	gorm *gorm.DB
	sql  *sql.DB
	pool *pgxpool.Pool
	log  *slog.Logger
}

// ErrUnavailable is returned when PostgreSQL does not answer.
var ErrUnavailable = &berriz.Error{Kind: berriz.Unavailable, Code: "database_unavailable", Message: "error.database_unavailable"}

// slowQuery is the duration beyond which a statement is logged as slow.
const slowQuery = 500 * time.Millisecond

// Open connects to PostgreSQL and waits until it answers or ConnectTimeout
// passes.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	pool, err := openPool(ctx, o)
	if err != nil {
		return nil, err
	}
	// database/sql takes a connection from the pool for each statement or
	// transaction and gives it back at once (OpenDBFromPool keeps no idle
	// connection of its own): the pool alone bounds, keeps and ages them.
	sqlDB := stdlib.OpenDBFromPool(pool)
	g, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		TranslateError: true,
		// Nothing may change the schema outside migrations/.
		DisableAutomaticPing:                     true,
		DisableForeignKeyConstraintWhenMigrating: true,
		Logger: newLazyTrace(logger.NewSlogLogger(o.Logger.With("component", "gorm"), logger.Config{
			SlowThreshold:             slowQuery,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true,
		}), logger.Warn, slowQuery),
	})
	if err != nil {
		_ = sqlDB.Close()
		pool.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	db := &DB{gorm: g, sql: sqlDB, pool: pool, log: o.Logger}
	if err := db.waitReady(ctx, orDefault(o.ConnectTimeout, 30*time.Second)); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// openPool configures the pool; it connects lazily, on first use.
func openPool(ctx context.Context, o Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	// Idle connections are kept up to the open maximum by default: a
	// connection closed at a burst's end costs the next burst a new
	// PostgreSQL process and the re-preparation of its statements (pgx
	// caches them per connection): under load, that churn cost more than
	// the queries (docs/benchmarks.md).
	maxOpen := orDefault(o.MaxOpenConns, 20)
	cfg.MaxConns = int32(maxOpen)
	cfg.MaxConnLifetime = orDefault(o.ConnMaxLifetime, 30*time.Minute)
	cfg.MaxConnIdleTime = orDefault(o.ConnMaxIdleTime, 5*time.Minute)
	var pool *pgxpool.Pool
	if maxIdle := orDefault(o.MaxIdleConns, maxOpen); maxIdle < maxOpen {
		// A smaller idle maximum (tests' pools) closes a connection given
		// back while that many already wait, as database/sql's did. Only
		// then: pgxpool runs this hook in a goroutine of its own.
		cfg.AfterRelease = func(*pgx.Conn) bool { return pool.Stat().IdleConns() < int32(maxIdle) }
	}
	if pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	return pool, nil
}

func (db *DB) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 100 * time.Millisecond
	for {
		err := db.Ping(ctx)
		if err == nil {
			return nil
		}
		db.log.Info("waiting for PostgreSQL", "error", err.Error())
		select {
		case <-ctx.Done():
			return fmt.Errorf("database did not answer within %s: %w", timeout, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
	}
}

// Ping checks that PostgreSQL answers a query, for readiness checks. It runs a
// real statement rather than a protocol ping so that a server that accepts
// connections but cannot serve (recovery, read-only failover) is caught.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return ErrUnavailable.WithCause(err)
	}
	return nil
}

// Close releases every connection of the pool.
func (db *DB) Close() error {
	err := db.sql.Close() // not the pool's: OpenDBFromPool's sql.DB leaves it open
	db.pool.Close()
	return err
}

// PoolStat reports the pool's connections, for the benchmarks to watch
// connection churn.
func (db *DB) PoolStat() *pgxpool.Stat { return db.pool.Stat() }

// SQL exposes the standard pool for tools that need database/sql (goose,
// test harness).
func (db *DB) SQL() *sql.DB { return db.sql }

// Tx runs fn in one transaction, committed when fn returns nil and rolled
// back otherwise (including on panic). Every exported store method that
// writes goes through it.
func (db *DB) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	err := db.gorm.WithContext(ctx).Transaction(fn)
	return translate(err)
}

// translate maps the database errors that are the caller's doing to the
// vocabulary; anything else stays internal. Errors already in the
// vocabulary pass through. Raw queries (Row, Scan) bypass GORM's
// TranslateError, hence the PostgreSQL codes.
func translate(err error) error {
	var be *berriz.Error
	var pg *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &be):
		return err
	case isNoRows(err):
		return berriz.E(berriz.NotFound, "error.not_found").WithCause(err)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return berriz.E(berriz.Conflict, "error.conflict").WithCause(err)
	case errors.Is(err, gorm.ErrForeignKeyViolated), errors.Is(err, gorm.ErrCheckConstraintViolated):
		return berriz.E(berriz.Invalid, "error.invalid").WithCause(err)
	case errors.As(err, &pg):
		switch pg.Code {
		case "23505": // unique_violation
			return berriz.E(berriz.Conflict, "error.conflict").WithCause(err)
		case "23503", "23514", "22001", "22P02", "22021", "22P05": // foreign key, check, too long, bad text or encoding
			return berriz.E(berriz.Invalid, "error.invalid").WithCause(err)
		case "40001", "40P01": // serialization failure, deadlock: another writer won
			return berriz.E(berriz.Conflict, "error.conflict").WithCause(err)
		}
	}
	return err
}

func isNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows) || errors.Is(err, gorm.ErrRecordNotFound)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// bytea passes a byte slice to GORM as one value: a bare []byte argument
// would be expanded into a list like any other slice.
type bytea []byte

// Value implements driver.Valuer.
func (b bytea) Value() (driver.Value, error) { return []byte(b), nil }
