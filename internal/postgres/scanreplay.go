package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The scan station's offline replay: the browser gives each scan a key of
// its own making and may send it more than once (it cannot know whether a
// request that failed halfway reached us). The first request with a key
// claims it; the answer it got is kept and given again to every replay of
// the same request, so a scan is applied once. The same key with another
// request is the client's mistake, never a second effect.
//
// A claim is a row with status 0 until its answer is stored. A request
// that dies between the claim and the answer (a crash) would leave its key
// claimed forever, so a claim older than ScanClaimStale may be taken over.

// ScanReplayKeep is how long an answer is kept for replays: far longer
// than any offline spell at a workshop.
const ScanReplayKeep = 30 * 24 * time.Hour

// ScanClaimStale is how long a claimed key without an answer stays the
// first request's.
const ScanClaimStale = 2 * time.Minute

// ScanReplay is a key already seen: the hash of the request that claimed
// it and, once answered (Status > 0), the answer.
type ScanReplay struct {
	Hash     string
	Status   int
	Response json.RawMessage
}

// ClaimScanReplay claims (user, key) for a request of the given hash at
// now. claimed is true when the caller is to apply the request and store
// its answer (FinishScanReplay) or give the key back (ReleaseScanReplay);
// otherwise prev is what the key holds. Answers older than ScanReplayKeep
// are pruned on the way: the table stays as small as a month of scans.
func (db *DB) ClaimScanReplay(ctx context.Context, userID int64, key, hash string, now time.Time) (prev ScanReplay, claimed bool, err error) {
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM scan_replays WHERE created_at < ?`, now.Add(-ScanReplayKeep)).Error; err != nil {
			return err
		}
		res := tx.Exec(`INSERT INTO scan_replays (user_id, key, request_hash, status, response, created_at)
			VALUES (?, ?, ?, 0, '{}', ?) ON CONFLICT (user_id, key) DO NOTHING`, userID, key, hash, now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			claimed = true
			return nil
		}
		var (
			resp string
			at   time.Time
		)
		if err := tx.Raw(`SELECT request_hash, status, response::text, created_at FROM scan_replays
			WHERE user_id = ? AND key = ? FOR UPDATE`, userID, key).Row().Scan(&prev.Hash, &prev.Status, &resp, &at); err != nil {
			return err
		}
		prev.Response = json.RawMessage(resp)
		if prev.Status == 0 && prev.Hash == hash && at.Before(now.Add(-ScanClaimStale)) {
			claimed = true
			return tx.Exec(`UPDATE scan_replays SET created_at = ? WHERE user_id = ? AND key = ?`, now, userID, key).Error
		}
		return nil
	})
	if err != nil {
		return ScanReplay{}, false, fmt.Errorf("claim scan key of user %d: %w", userID, err)
	}
	return prev, claimed, nil
}

// FinishScanReplay stores the answer of a claimed key and returns it as
// stored (the database's rendering of the JSON), so that the first answer
// and its replays are the same bytes.
func (db *DB) FinishScanReplay(ctx context.Context, userID int64, key string, status int, response []byte) ([]byte, error) {
	var stored string
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`UPDATE scan_replays SET status = ?, response = ?::jsonb WHERE user_id = ? AND key = ? AND status = 0
			RETURNING response::text`, status, string(response), userID, key).Row().Scan(&stored)
	})
	if err != nil {
		return nil, fmt.Errorf("store scan answer of user %d: %w", userID, err)
	}
	return []byte(stored), nil
}

// ReleaseScanReplay gives back a claimed key whose request failed on our
// side, so that the browser's next try applies it.
func (db *DB) ReleaseScanReplay(ctx context.Context, userID int64, key string) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`DELETE FROM scan_replays WHERE user_id = ? AND key = ? AND status = 0`, userID, key).Error
	})
	if err != nil {
		return fmt.Errorf("release scan key of user %d: %w", userID, err)
	}
	return nil
}
