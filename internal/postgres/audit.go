package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"time"
)

// The audit of the device event log: every chain is read back in order and
// every hash recomputed, so an event altered, removed, inserted or
// reordered behind berriz's back (in SQL, in a restored dump) is found and
// named. The chain proves the log is whole relative to the devices' chain
// heads; someone who rewrites a whole chain and its head consistently is
// not caught by the chain alone, which is why docs/operations.md advises
// keeping the printed summary of each run (its digest) outside the
// database.

// Ways a chain breaks.
const (
	BreakAltered  = "altered"  // the event's content no longer matches its hash
	BreakLink     = "link"     // its previous hash is not the hash of the event before it
	BreakSequence = "sequence" // its number is not the next one: an event is missing or was inserted
	BreakHead     = "head"     // the device's chain head disagrees with its last event: events were removed
)

// ChainBreak is the first place where a device's chain does not hold.
type ChainBreak struct {
	DeviceID int64
	Tag      string // printed code, "" before intake
	EventID  int64  // 0 when the break is at the head
	Seq      int    // the event's number in the chain (for BreakHead, the head's count)
	Reason   string
}

// AuditReport sums up a verification.
type AuditReport struct {
	Devices int          // devices with at least one event
	Events  int          // events checked
	Digest  string       // SHA-256 over every device's id, count and head, to keep outside the database
	Breaks  []ChainBreak // at most one per device, in device order
}

// VerifyEventChains checks every device's event chain, reading the log
// once in order without holding it in memory.
func (db *DB) VerifyEventChains(ctx context.Context) (AuditReport, error) {
	var rep AuditReport
	digest := newDigest()
	rows, err := db.gorm.WithContext(ctx).Raw(`SELECT e.id, e.device_id, e.seq, e.at, e.actor_id, e.kind, e.from_state,
			e.to_state, e.place, e.note, e.detail, e.prev_hash, e.hash, v.event_seq, v.event_head, coalesce(t.code, '')
		FROM device_events e JOIN devices v ON v.id = e.device_id LEFT JOIN tags t ON t.device_id = v.id
		ORDER BY e.device_id, e.seq`).Rows()
	if err != nil {
		return rep, fmt.Errorf("read device events: %w", err)
	}
	defer rows.Close()
	type chain struct {
		device  int64
		tag     string
		seq     int
		prev    []byte
		headSeq int
		head    []byte
		broken  bool
	}
	var cur chain
	finish := func() {
		if cur.device == 0 {
			return
		}
		rep.Devices++
		if !cur.broken && (cur.headSeq != cur.seq || !bytes.Equal(cur.head, cur.prev)) {
			rep.Breaks = append(rep.Breaks, ChainBreak{DeviceID: cur.device, Tag: printedTag(cur.tag), Seq: cur.headSeq, Reason: BreakHead})
		}
		digest.add(cur.device, cur.headSeq, cur.head)
	}
	for rows.Next() {
		var (
			e               DeviceEvent
			deviceID, actor int64
			prev, sum, head []byte
			headSeq         int
			tag             string
			at              time.Time
		)
		if err := rows.Scan(&e.ID, &deviceID, &e.Seq, &at, &actor, &e.Kind, &e.From, &e.To, &e.Place, &e.Note, &e.Detail,
			&prev, &sum, &headSeq, &head, &tag); err != nil {
			return rep, fmt.Errorf("read device events: %w", err)
		}
		if deviceID != cur.device {
			finish()
			cur = chain{device: deviceID, tag: tag, prev: zeroHash, headSeq: headSeq, head: head}
		}
		rep.Events++
		if cur.broken {
			continue
		}
		brk := func(reason string) {
			rep.Breaks = append(rep.Breaks, ChainBreak{DeviceID: deviceID, Tag: printedTag(tag), EventID: e.ID, Seq: e.Seq, Reason: reason})
			cur.broken = true
		}
		switch {
		case e.Seq != cur.seq+1:
			brk(BreakSequence)
		case !bytes.Equal(prev, cur.prev):
			brk(BreakLink)
		case !bytes.Equal(sum, eventHash(prev, deviceID, e.Seq, at, actor, e)):
			brk(BreakAltered)
		}
		cur.seq, cur.prev = e.Seq, sum
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("read device events: %w", err)
	}
	finish()
	// Devices whose head says they have events none of which is left.
	orphans, err := db.gorm.WithContext(ctx).Raw(`SELECT v.id, v.event_seq, coalesce(t.code, '') FROM devices v
		LEFT JOIN tags t ON t.device_id = v.id
		WHERE v.event_seq > 0 AND NOT EXISTS (SELECT 1 FROM device_events e WHERE e.device_id = v.id) ORDER BY v.id`).Rows()
	if err != nil {
		return rep, fmt.Errorf("read device chain heads: %w", err)
	}
	defer orphans.Close()
	for orphans.Next() {
		var b ChainBreak
		if err := orphans.Scan(&b.DeviceID, &b.Seq, &b.Tag); err != nil {
			return rep, fmt.Errorf("read device chain heads: %w", err)
		}
		b.Tag, b.Reason = printedTag(b.Tag), BreakHead
		rep.Breaks = append(rep.Breaks, b)
	}
	rep.Digest = digest.hex()
	return rep, orphans.Err()
}

// printedTag shows a stored code as printed (with its dash).
func printedTag(code string) string {
	if len(code) != 8 {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// chainDigest sums up every chain head, in device order.
type chainDigest struct{ h hash.Hash }

func newDigest() chainDigest { return chainDigest{sha256.New()} }

func (d chainDigest) add(device int64, seq int, head []byte) {
	fmt.Fprintf(d.h, "%d %d %x\n", device, seq, head)
}

func (d chainDigest) hex() string { return hex.EncodeToString(d.h.Sum(nil)) }
