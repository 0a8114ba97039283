package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berriz/berriz/internal/postgres"
	"github.com/berriz/berriz/internal/postgres/pgtest"
)

func TestScanReplay(t *testing.T) {
	db := pgtest.MustDB(t)
	ctx := context.Background()
	shop := mustOrg(t, db, "workshop", "Atelier")
	u := mustUser(t, db, shop.ID, "tech@atelier.example", false).ID
	other := mustUser(t, db, shop.ID, "tech2@atelier.example", false).ID
	now := time.Now()
	h1, h2 := strings.Repeat("1", 64), strings.Repeat("2", 64)

	_, claimed, err := db.ClaimScanReplay(ctx, u, "key-00000001", h1, now)
	if err != nil || !claimed {
		t.Fatalf("first claim: %v, %v", claimed, err)
	}
	// While the first request runs, the key is taken.
	prev, claimed, err := db.ClaimScanReplay(ctx, u, "key-00000001", h1, now)
	if err != nil || claimed || prev.Status != 0 || prev.Hash != h1 {
		t.Fatalf("pending: %+v %v %v", prev, claimed, err)
	}
	// Another user's keys are their own.
	if _, claimed, _ := db.ClaimScanReplay(ctx, other, "key-00000001", h2, now); !claimed {
		t.Fatal("keys are shared between users")
	}
	if stored, err := db.FinishScanReplay(ctx, u, "key-00000001", 200, []byte(`{"outcome":"done"}`)); err != nil ||
		string(stored) != `{"outcome": "done"}` {
		t.Fatalf("stored %s, %v", stored, err)
	}
	prev, claimed, err = db.ClaimScanReplay(ctx, u, "key-00000001", h1, now.Add(time.Hour))
	if err != nil || claimed || prev.Status != 200 || string(prev.Response) != `{"outcome": "done"}` {
		t.Fatalf("replay: %+v %v %v", prev, claimed, err)
	}
	prev, claimed, _ = db.ClaimScanReplay(ctx, u, "key-00000001", h2, now)
	if claimed || prev.Hash != h1 {
		t.Fatalf("reused with another request: %+v %v", prev, claimed)
	}

	// A claim whose request died is taken over once stale; a released
	// claim is free again.
	if _, claimed, _ := db.ClaimScanReplay(ctx, u, "key-00000002", h1, now); !claimed {
		t.Fatal("claim")
	}
	if _, claimed, _ := db.ClaimScanReplay(ctx, u, "key-00000002", h1, now.Add(time.Minute)); claimed {
		t.Fatal("taken over while fresh")
	}
	if _, claimed, _ := db.ClaimScanReplay(ctx, u, "key-00000002", h2, now.Add(time.Hour)); claimed {
		t.Fatal("taken over by another request")
	}
	if _, claimed, _ := db.ClaimScanReplay(ctx, u, "key-00000002", h1, now.Add(postgres.ScanClaimStale+time.Second)); !claimed {
		t.Fatal("a stale claim was not taken over")
	}
	if err := db.ReleaseScanReplay(ctx, u, "key-00000002"); err != nil {
		t.Fatal(err)
	}
	if _, claimed, _ := db.ClaimScanReplay(ctx, u, "key-00000002", h2, now); !claimed {
		t.Fatal("a released key is still taken")
	}

	// Answers older than the keeping time go.
	mustExec(t, db, `UPDATE scan_replays SET created_at = $1 WHERE key = 'key-00000001' AND user_id = $2`,
		now.Add(-postgres.ScanReplayKeep-time.Hour), u)
	if _, claimed, _ := db.ClaimScanReplay(ctx, u, "key-00000003", h1, now); !claimed {
		t.Fatal("claim")
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM scan_replays WHERE key = 'key-00000001'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows of the old key left (the other user's stays), %v", n, err)
	}
}
