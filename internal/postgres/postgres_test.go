package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
	"gorm.io/gorm"
)

func mustOpen(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), postgres.Options{URL: url, ConnectTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestMigrateFromEmptyThenStatus(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, pgtest.MustEmptyURL(t))

	if _, err := db.CheckSchema(ctx); !errors.Is(err, postgres.ErrSchemaBehind) {
		t.Fatalf("CheckSchema on empty database = %v, want ErrSchemaBehind", err)
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if len(applied) == 0 || applied[0] != 1 {
		t.Fatalf("applied = %v, want to start at version 1", applied)
	}
	again, err := db.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second migrate applied %v, err %v; want nothing", again, err)
	}
	v, err := db.CheckSchema(ctx)
	if err != nil || v.Current != v.Known {
		t.Fatalf("CheckSchema = %+v, %v", v, err)
	}
	states, _, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	for _, s := range states {
		if !s.Applied {
			t.Errorf("migration %d %s not applied", s.Version, s.Name)
		}
	}
	// The foundation migration's objects exist.
	var n int
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM pg_proc WHERE proname = 'set_updated_at'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("set_updated_at function: n=%d err=%v", n, err)
	}
}

func TestConcurrentMigrateAppliesOnce(t *testing.T) {
	ctx := context.Background()
	url := pgtest.MustEmptyURL(t)
	dbs := []*postgres.DB{mustOpen(t, url), mustOpen(t, url), mustOpen(t, url)}
	errs := make(chan error, len(dbs))
	total := make(chan int, len(dbs))
	for _, db := range dbs {
		go func() {
			applied, err := db.Migrate(ctx)
			errs <- err
			total <- len(applied)
		}()
	}
	sum := 0
	for range dbs {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
		sum += <-total
	}
	v, err := dbs[0].CheckSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int64(sum) != v.Known {
		t.Fatalf("instances applied %d migrations in all, want %d (each exactly once)", sum, v.Known)
	}
}

func TestRefusesSchemaNewerThanKnown(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	v, err := db.CheckSchema(ctx)
	if err != nil {
		t.Fatalf("template schema: %v", err)
	}
	if _, err := db.SQL().ExecContext(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", v.Known+1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CheckSchema(ctx); !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Fatalf("CheckSchema = %v, want ErrSchemaTooNew", err)
	}
	if _, err := db.Migrate(ctx); !errors.Is(err, postgres.ErrSchemaTooNew) {
		t.Fatalf("Migrate = %v, want ErrSchemaTooNew", err)
	}
}

func TestPingAndUnavailable(t *testing.T) {
	db := pgtest.MustDB(t)
	if err := db.Ping(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	_, err := postgres.Open(context.Background(), postgres.Options{
		URL:            "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1",
		ConnectTimeout: 300 * time.Millisecond,
	})
	if berriz.KindOf(err) != berriz.Unavailable {
		t.Fatalf("open on a closed port: %v (kind %v), want unavailable", err, berriz.KindOf(err))
	}
}

func TestTxRollsBackAndTranslatesErrors(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustDB(t)
	if _, err := db.SQL().ExecContext(ctx, "CREATE TABLE t (id int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("INSERT INTO t VALUES (1)").Error; err != nil {
			return err
		}
		return tx.Exec("INSERT INTO t VALUES (1)").Error
	})
	if berriz.KindOf(err) != berriz.Conflict {
		t.Fatalf("duplicate key: %v, want conflict", err)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows after rollback = %d (%v), want 0", n, err)
	}
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		var row struct{ ID int }
		return tx.Table("t").Where("id = ?", 42).First(&row).Error
	})
	if berriz.KindOf(err) != berriz.NotFound {
		t.Fatalf("missing row: %v, want not found", err)
	}
}
