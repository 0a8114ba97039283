package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// `berriz audit verify` passes on a clean database, then fails after one
// event row is altered directly in SQL, naming the device, its tag and the
// event.
func TestAuditVerifyCommand(t *testing.T) {
	env, url := mustCommandEnv(t)
	db := mustOpen(t, url)
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"demo"}, env, &out, &errOut); err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut.String())
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "verify"}, env, &out, &errOut); err != nil {
		t.Fatalf("audit on a clean database: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "; 0 broken chains; digest ") || strings.HasPrefix(out.String(), "0 events") {
		t.Fatalf("clean report: %q", out.String())
	}

	var event, device int64
	var code string
	if err := db.SQL().QueryRowContext(ctx, `SELECT e.id, e.device_id, t.code FROM device_events e JOIN tags t ON t.device_id = e.device_id
		ORDER BY e.id DESC LIMIT 1`).Scan(&event, &device, &code); err != nil {
		t.Fatal(err)
	}
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{`ALTER TABLE device_events DISABLE TRIGGER device_events_no_change`,
		fmt.Sprintf(`UPDATE device_events SET place = 'ailleurs' WHERE id = %d`, event),
		`ALTER TABLE device_events ENABLE TRIGGER device_events_no_change`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	out.Reset()
	err = run(ctx, []string{"audit", "verify"}, env, &out, &errOut)
	if !errors.Is(err, errAuditFailed) {
		t.Fatalf("audit after tampering: %v\n%s", err, out.String())
	}
	want := fmt.Sprintf("BROKEN device %d (%s-%s), event %d ", device, code[:4], code[4:], event)
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "altered") || !strings.Contains(out.String(), "; 1 broken chains;") {
		t.Fatalf("report %q, want %q", out.String(), want)
	}
	if err := run(ctx, []string{"audit"}, env, &out, &errOut); !errors.Is(err, errUsage) {
		t.Fatalf("audit without verify: %v", err)
	}
}
