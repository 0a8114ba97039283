package postgres

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/berriz/berriz/internal/lifecycle"
)

// The device events of the territory at scale: each device's changes of
// state as moveDevice records them (who, when, from, to, where, the note
// and detail of a reservation, a delivery or a return), hash-chained with
// eventHash, the function appendDeviceEvent uses, so `berriz audit
// verify` checks them as any other chain.

// scaleReturnReasons are the beneficiaries' reasons for a return.
var scaleReturnReasons = []string{"Écran défectueux", "Trop lent pour nos usages", "Batterie hors d'usage",
	"Matériel en surnombre", "Panne de disque"}

// chain computes device i's events in order, passes each as a row of
// device_events to emit (when not nil) and returns the chain's head. The
// first pass (the devices' heads) keeps every hash, so that the second
// (the events) does not hash again.
func (l *scaleLoader) chain(i int, emit func(row []any)) []byte {
	known := l.hashed[i]
	p := l.p
	v := p.devices[i]
	d := p.donations[v.donation]
	shop := p.orgs[d.workshop]
	place := cut(shop.name, 200)
	prev := zeroHash
	from := string(lifecycle.Declared)
	for k, s := range v.chain {
		actor := shop.user
		e := DeviceEvent{Kind: EventState, From: from, To: string(s), Place: place}
		switch s {
		case lifecycle.Reserved:
			r := p.requests[v.reqs]
			actor = p.orgs[r.beneficiary].user
			e.Detail = fmt.Sprintf(`{"from":"catalogue","line":%d,"request":%d,"reservation":%d}`, v.line2+1, r.id, v.res)
		case lifecycle.Delivered:
			h := p.handovers[v.handover]
			actor = p.orgs[h.beneficiary].user
			e.Note = h.number
			e.Detail = fmt.Sprintf(`{"handover":%d,"number":%q,"request":%d}`, h.id, h.number, h.request)
		case lifecycle.Returned:
			e.Note = scaleReturnReasons[i%len(scaleReturnReasons)]
		}
		at := v.times[k].Truncate(time.Microsecond)
		slot := l.hashes[32*(l.offsets[i]+k) : 32*(l.offsets[i]+k+1)]
		if !known {
			copy(slot, eventHash(prev, v.id, k+1, at, actor, e))
		}
		hash := slot
		if emit != nil {
			emit([]any{v.id, k + 1, at, actor, actor, e.Kind, e.From, e.To, e.Place, e.Note, e.Detail, prev, hash})
		}
		prev, from = hash, string(s)
	}
	l.hashed[i] = true
	return prev
}

// hashChains computes every device's chain ahead, on every core: the
// chains are independent, each goroutine writes its devices' slots only.
func (l *scaleLoader) hashChains() (int, error) {
	events := 0
	l.offsets = make([]int, len(l.p.devices)+1)
	for j, v := range l.p.devices {
		l.offsets[j] = events
		events += len(v.chain)
	}
	l.offsets[len(l.p.devices)] = events
	l.hashes = make([]byte, 32*events)
	l.hashed = make([]bool, len(l.p.devices))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(l.p.devices); i += workers {
				l.chain(i, nil)
			}
		}()
	}
	wg.Wait()
	return events, l.ctx.Err()
}

func (l *scaleLoader) copyEvents() (int, error) {
	p := l.p
	var queue [][]any
	i := 0
	emit := func(row []any) { queue = append(queue, row) }
	started, reported := time.Now(), 0
	n, err := l.bulkCopy("device_events", []string{"device_id", "seq", "at", "actor_user_id", "actor_id", "kind",
		"from_state", "to_state", "place", "note", "detail", "prev_hash", "hash"}, func() []any {
		for len(queue) == 0 && i < len(p.devices) {
			queue = queue[:0]
			l.chain(i, emit)
			i++
			if i-reported >= 200000 {
				reported = i
				l.o.Progress(fmt.Sprintf("  … events of %d devices", i), 0, time.Since(started))
			}
		}
		if len(queue) == 0 {
			return nil
		}
		row := queue[0]
		queue = queue[1:]
		return row
	})
	return n, err
}

// copyHistory writes the donations' and requests' own logs: declared,
// assigned and received lots; submitted, approved and fulfilled requests.
func (l *scaleLoader) copyHistory() (int, error) {
	p := l.p
	operator := p.orgs[p.operator].user
	type ev struct {
		id    int64
		at    time.Time
		actor int64
		org   int64
		kind  string
		from  string
		to    string
	}
	var dons []ev
	for _, d := range p.donations {
		donor := p.orgs[d.donor]
		dons = append(dons, ev{d.id, d.at, donor.user, 0, "declared", "", "declared"},
			ev{d.id, d.at.Add(time.Hour), operator, 0, "assigned", "", ""})
		if d.state != "declared" {
			shop := p.orgs[d.workshop].user
			first := d.receivedAt
			for _, v := range d.devices {
				if t := p.devices[v].times; len(t) > 0 && t[0].Before(first) {
					first = t[0]
				}
			}
			dons = append(dons, ev{d.id, first, shop, 0, "state_changed", "declared", "collected"})
			if d.state == "received" {
				dons = append(dons, ev{d.id, d.receivedAt, shop, 0, "state_changed", "collected", "received"})
			}
		}
	}
	n, err := l.bulkCopy("donation_events", []string{"donation_id", "at", "actor_user_id", "kind", "from_state", "to_state"},
		rows(len(dons), func(i int) []any {
			e := dons[i]
			return []any{e.id, e.at, e.actor, e.kind, e.from, e.to}
		}))
	if err != nil {
		return n, err
	}
	var reqs []ev
	for _, r := range p.requests {
		b := p.orgs[r.beneficiary]
		op := p.orgs[p.operator]
		reqs = append(reqs, ev{r.id, r.submitted, b.user, b.id, "", "", "submitted"},
			ev{r.id, r.decided, op.user, op.id, "", "submitted", "approved"})
		if r.state == "fulfilled" {
			reqs = append(reqs, ev{r.id, r.fulfilled, b.user, b.id, "", "approved", "fulfilled"})
		}
	}
	m, err := l.bulkCopy("request_events", []string{"request_id", "at", "actor_user_id", "actor_org_id", "from_state", "to_state"},
		rows(len(reqs), func(i int) []any {
			e := reqs[i]
			return []any{e.id, e.at, e.actor, e.org, e.from, e.to}
		}))
	return n + m, err
}
