package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/postgres"
)

// The demo at scale: `berriz demo --devices 1000000` adds to the demo
// territory a territory of that many devices, copied in bulk
// (internal/postgres LoadScale: five years of donations, devices in every
// state with their hash-chained events, handovers, emission results), to
// see the observatory and the lists with a real territory's volume and to
// benchmark them (docs/benchmarks.md).

const demoScaleUsage = `
  --devices N   after the demo territory, load N more devices in bulk (COPY):
                ~600 organisations over 150 communes, five years of donations,
                devices in every state (30% delivered) with hash-chained events,
                handovers and emission results; 1,000,000 takes a few minutes
  --add         with --devices: add the bulk territory to a database that is not
                empty (the demo accounts are not created again)
  --seed S      with --devices: the territory drawn (default 1; with --add, the time)
`

type demoScale struct {
	devices int
	add     bool
	seed    uint64
}

func demoScaleFlags(fs *flag.FlagSet) *demoScale {
	s := &demoScale{}
	fs.IntVar(&s.devices, "devices", 0, "load N more devices in bulk after the demo territory")
	fs.BoolVar(&s.add, "add", false, "with --devices: add to a database that is not empty")
	fs.Uint64Var(&s.seed, "seed", 0, "with --devices: the territory drawn")
	return s
}

// check refuses flags that mean nothing together.
func (s *demoScale) check() error {
	switch {
	case s.devices < 0 || s.devices > 20_000_000:
		return fmt.Errorf("--devices %d: between 1 and 20,000,000: %w", s.devices, errUsage)
	case s.devices == 0 && (s.add || s.seed != 0):
		return fmt.Errorf("--add and --seed go with --devices: %w", errUsage)
	}
	return nil
}

// load loads the bulk territory, printing each step as it ends.
func (s *demoScale) load(ctx context.Context, db *postgres.DB, cfg config.Config, stdout io.Writer) error {
	seed := s.seed
	if seed == 0 {
		seed = 1
		if s.add {
			seed = uint64(time.Now().UnixNano())
		}
	}
	// One hash for every bulk account: argon2 for each of hundreds would
	// take longer than the load.
	hash, err := account.HashPassword(demoPassword, argon2Params(cfg))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nloading %d devices in bulk (seed %d)...\n", s.devices, seed)
	start := time.Now()
	res, err := db.LoadScale(ctx, postgres.ScaleOptions{Devices: s.devices, Seed: seed, PasswordHash: hash,
		Progress: func(step string, rows int, took time.Duration) {
			if rows > 0 {
				fmt.Fprintf(stdout, "  %-32s %10d rows %8.1f s  (%s elapsed)\n", step, rows, took.Seconds(), time.Since(start).Round(time.Second))
				return
			}
			fmt.Fprintf(stdout, "  %-32s %15s %8.1f s  (%s elapsed)\n", step, "", took.Seconds(), time.Since(start).Round(time.Second))
		}})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("bulk load interrupted: %w (load it again into a fresh database)", err)
		}
		return fmt.Errorf("%w (the database now holds part of the bulk territory: load it again into a fresh database)", err)
	}
	fmt.Fprintf(stdout, "bulk territory loaded in %s: %d organisations (one admin each, e-mail charge-<kind>-<id>@%s, the demo password),\n"+
		"  %d donations, %d devices (%d delivered, %d deliveries in %d handovers), %d events, %d emission results\n",
		time.Since(start).Round(time.Second), res.Organisations, demoDomain, res.Donations, res.Devices, res.States["delivered"],
		res.Deliveries, res.Handovers, res.Events, res.Emissions)
	fmt.Fprint(stdout, "  devices by state:")
	for _, st := range []string{"declared", "received", "diagnosed", "wiped", "refurbished", "available", "reserved",
		"delivered", "returned", "recycled", "dismantled"} {
		fmt.Fprintf(stdout, " %s %d", st, res.States[st])
	}
	fmt.Fprintln(stdout)
	return nil
}
