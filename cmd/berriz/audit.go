package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/berriz/berriz/internal/config"
	"github.com/berriz/berriz/internal/postgres"
)

// errAuditFailed is the exit of an audit that found a broken chain: the
// report is already printed.
var errAuditFailed = errors.New("audit: the device event log does not verify")

var breakText = map[string]string{
	postgres.BreakAltered:  "its content no longer matches its hash (altered)",
	postgres.BreakLink:     "it does not follow the event before it (an event was removed, inserted or reordered)",
	postgres.BreakSequence: "its number does not follow the event before it (an event was removed or inserted)",
	postgres.BreakHead:     "the device's chain head does not match its last event (events were removed)",
}

// cmdAudit runs `berriz audit verify`: every device's event chain is read
// back and rehashed; each break names the device, its tag and the event.
func cmdAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] != "verify" {
		fmt.Fprint(stderr, "Usage: berriz audit verify\n\nChecks the hash chain of every device's event log and names the device\nand the event where a chain breaks. Exit status 1 when one does.\n")
		return errUsage
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.CheckSchema(ctx); err != nil {
		return err
	}
	rep, err := db.VerifyEventChains(ctx)
	if err != nil {
		return err
	}
	for _, b := range rep.Breaks {
		tag := b.Tag
		if tag == "" {
			tag = "no tag"
		}
		if b.EventID == 0 {
			fmt.Fprintf(stdout, "BROKEN device %d (%s): %s (head says %d events)\n", b.DeviceID, tag, breakText[b.Reason], b.Seq)
			continue
		}
		fmt.Fprintf(stdout, "BROKEN device %d (%s), event %d (number %d of its chain): %s\n", b.DeviceID, tag, b.EventID, b.Seq,
			breakText[b.Reason])
	}
	fmt.Fprintf(stdout, "%d events of %d devices checked; %d broken chains; digest %s\n", rep.Events, rep.Devices,
		len(rep.Breaks), rep.Digest)
	if len(rep.Breaks) > 0 {
		return errAuditFailed
	}
	return nil
}
