package postgres_test

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
	"github.com/berriz/berriz/migrations"
	"github.com/pressly/goose/v3"
)

// migrationsUpTo is the migrations folder as it was at version n.
func migrationsUpTo(t *testing.T, n string) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if name[:5] > n {
			continue
		}
		b, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = &fstest.MapFile{Data: b}
	}
	return out
}

// Events recorded before the log was chained (issue 4's intakes) are
// chained by the workshop migration, with the SQL twin of eventHash: after
// it, every chain verifies, and the next event appended in Go extends it.
func TestWorkshopMigrationChainsEarlierEvents(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, pgtest.MustEmptyURL(t))
	early, err := goose.NewProvider(goose.DialectPostgres, db.SQL(), migrationsUpTo(t, "00006"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := early.Up(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO organisations (kind, name, commune) VALUES ('commune', 'Mairie', '64102'), ('workshop', 'Atelier', '64102')`,
		`INSERT INTO users (organisation_id, email, name, password_hash) VALUES (2, 'tech@example.org', 'Ane', 'x')`,
		`INSERT INTO donations (donor_org_id, workshop_org_id, state, title) VALUES (1, 2, 'collected', 'Lot')`,
		`INSERT INTO devices (donation_id, line, category, weight_kg, state) VALUES (1, 1, 'laptop', 2, 'received'), (1, 2, 'laptop', 2, 'received')`,
		`INSERT INTO device_events (device_id, actor_user_id, from_state, to_state, place, note, at) VALUES
			(1, 1, 'declared', 'received', 'Atelier', '', '2026-11-03 10:00:00.123456+01'),
			(2, NULL, '', 'received', 'Atelier', 'trouvé dans le carton — écran fêlé', '2026-11-03 10:05:00+01'),
			(1, 1, 'received', 'received', 'Atelier — étagère 3', 'rangé', '2026-11-04 09:00:00.5+01')`,
	} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := db.VerifyEventChains(ctx)
	if err != nil || len(rep.Breaks) != 0 || rep.Events != 3 || rep.Devices != 2 {
		t.Fatalf("after the migration: %+v, %v", rep, err)
	}
	mustDiagnosis(t, db, 1, true)
	if _, err := db.TransitionDevice(ctx, 1, postgres.DonationScope{}, postgres.Transition{To: "diagnosed"}, nil); err != nil {
		t.Fatal(err)
	}
	rep, err = db.VerifyEventChains(ctx)
	if err != nil || len(rep.Breaks) != 0 || rep.Events != 4 {
		t.Fatalf("after a new event: %+v, %v", rep, err)
	}
}
