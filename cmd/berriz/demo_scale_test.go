package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// TestDemoScale loads the demo with a bulk territory, checks that every
// chain verifies, that a second load is refused unless --add, and that
// --add adds another territory beside it.
func TestDemoScale(t *testing.T) {
	env, url := mustCommandEnv(t)
	db := mustOpen(t, url)
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"demo", "--add"}, env, &out, &errOut); !errors.Is(err, errUsage) {
		t.Errorf("--add without --devices: %v", err)
	}
	if err := run(ctx, []string{"demo", "--devices", "1500"}, env, &out, &errOut); err != nil {
		t.Fatalf("demo --devices: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"demo territory loaded", "loading 1500 devices in bulk (seed 1)", "device events (hash chains)",
		"observatory totals rebuilt", "bulk territory loaded in", "devices by state: declared 30 received 60"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(ctx, []string{"demo", "--devices", "10"}, env, &out, &errOut); !errors.Is(err, errNotEmpty) {
		t.Errorf("second load: %v", err)
	}
	if err := run(ctx, []string{"demo", "--devices", "300", "--add", "--seed", "9"}, env, &out, &errOut); err != nil {
		t.Fatalf("demo --devices --add: %v", err)
	}
	var devices int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM devices WHERE serial <> '' AND brand <> ''`).Scan(&devices); err != nil {
		t.Fatal(err)
	}
	if devices < 1800 {
		t.Errorf("%d devices after both loads", devices)
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "verify"}, env, &out, &errOut); err != nil {
		t.Fatalf("audit: %v\n%s", err, out.String())
	}
	if !regexp.MustCompile(`events of \d+ devices checked; 0 broken chains;`).MatchString(out.String()) {
		t.Errorf("audit: %q", out.String())
	}
}
