package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/postgres"
)

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "status") {
		fmt.Fprint(stderr, "Usage: berriz migrate up|status\n")
		return errUsage
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	db, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "up" {
		return migrateUp(ctx, db, log)
	}
	states, v, err := db.MigrationStatus(ctx)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMIGRATION\tAPPLIED AT")
	for _, s := range states {
		at := "pending"
		if s.Applied {
			at = s.AppliedAt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, s.Name, at)
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "database at version %d; this binary knows up to %d\n", v.Current, v.Known)
	// Pending migrations are what status is for; only a schema newer than
	// this binary (or a failure to read it) is an error.
	return err
}

func migrateUp(ctx context.Context, db *postgres.DB, log *slog.Logger) error {
	applied, err := db.Migrate(ctx)
	for _, v := range applied {
		log.Info("migration applied", "version", v)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) == 0 {
		log.Info("database schema up to date")
	}
	return nil
}
