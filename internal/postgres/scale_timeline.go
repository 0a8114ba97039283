package postgres

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/lifecycle"
)

// The timeline of the territory at scale: which state each device ends
// in, when each of its changes happened, and which handover or request
// holds it.

const day = 24 * time.Hour

// planStates gives each device its final state, by quota (scaleStates),
// the states of the workshops' pipeline going to the newest devices, and
// draws the times of its changes of state but the allocation's.
func (p *scalePlan) planStates(r *rand.Rand) {
	n := len(p.devices)
	counts := make([]int, len(scaleStates))
	sum := 0
	for i, s := range scaleStates {
		counts[i] = n * s.perMille / 1000
		sum += counts[i]
	}
	for i, s := range scaleStates {
		if s.state == lifecycle.Recycled {
			counts[i] += n - sum // the rounding's remainder
		}
	}
	// newest first: declared, received, ..., reserved; then the others shuffled
	next := n - 1
	var finals []lifecycle.State
	for i, s := range scaleStates {
		if !pipeline(s.state) {
			for range counts[i] {
				finals = append(finals, s.state)
			}
			continue
		}
		for range counts[i] {
			p.devices[next].state = s.state
			next--
		}
	}
	r.Shuffle(len(finals), func(i, j int) { finals[i], finals[j] = finals[j], finals[i] })
	for i := range finals {
		p.devices[i].state = finals[i]
	}
	for i := range p.devices {
		p.timeline(r, &p.devices[i])
	}
	for i := range p.donations {
		d := &p.donations[i]
		declared := 0
		for _, v := range d.devices {
			if dv := p.devices[v]; dv.state == lifecycle.Declared {
				declared++
			} else if t := dv.times[0]; t.After(d.receivedAt) {
				d.receivedAt = t
			}
		}
		switch {
		case declared == len(d.devices):
			d.state = "declared"
		case declared > 0:
			d.state = "collected"
		default:
			d.state = "received"
		}
	}
}

// days draws a duration between lo and hi days, to the second.
func days(r *rand.Rand, lo, hi float64) time.Duration {
	return time.Duration((lo + (hi-lo)*r.Float64()) * float64(day)).Truncate(time.Second)
}

// timeline draws the changes of state of a device up to its final state;
// reserved and delivered come from planDeliveries.
func (p *scalePlan) timeline(r *rand.Rand, v *scaleDevice) {
	if v.state == lifecycle.Declared {
		return
	}
	from := p.donations[v.donation].at
	t := from.Add(days(r, 2, 20))
	add := func(s lifecycle.State, gap time.Duration) {
		t = t.Add(gap)
		v.chain, v.times = append(v.chain, s), append(v.times, t)
	}
	add(lifecycle.Received, 0)
	limit := p.now.Add(-time.Hour)
	switch v.state {
	case lifecycle.Recycled, lifecycle.Dismantled:
		if v.state == lifecycle.Dismantled || r.IntN(10) < 6 {
			add(lifecycle.Diagnosed, days(r, 1, 30))
		}
		add(v.state, days(r, 5, 90))
	default:
		steps := []struct {
			s      lifecycle.State
			lo, hi float64
		}{{lifecycle.Diagnosed, 1, 30}, {lifecycle.Wiped, 0.1, 5}, {lifecycle.Refurbished, 0.5, 15},
			{lifecycle.Available, 0.1, 3}}
		for _, st := range steps {
			if v.state == v.chain[len(v.chain)-1] {
				break
			}
			add(st.s, days(r, st.lo, st.hi))
		}
		if !pipeline(v.state) || v.state == lifecycle.Reserved {
			limit = p.now.Add(-30 * day) // room for the allocation's steps
		}
	}
	// a device's changes all happened before now: squeeze them if needed
	if last := v.times[len(v.times)-1]; last.After(limit) {
		span, room := last.Sub(from), limit.Sub(from)
		if room < time.Hour {
			room = time.Hour
		}
		for i := range v.times {
			v.times[i] = from.Add(time.Duration(float64(v.times[i].Sub(from)) * float64(room) / float64(span))).Truncate(time.Second)
		}
	}
	switch v.state {
	case lifecycle.Refurbished, lifecycle.Available, lifecycle.Reserved, lifecycle.Delivered:
		v.grade = string("AABBBC"[r.IntN(6)])
	}
}

var scaleAnswers = []string{"", "", "bought_new", "bought_new", "bought_second_hand", "gone_without", "dont_know"}

// planDeliveries groups the delivered (and later returned) devices of each
// workshop into handovers of 3 to 30 devices to one beneficiary, each with
// its request, and the reserved devices into approved requests.
func (p *scalePlan) planDeliveries(r *rand.Rand) {
	var benef []int
	for _, k := range []account.OrgKind{account.KindSchool, account.KindAssociation, account.KindSocialStructure} {
		benef = append(benef, p.byKind[k]...)
	}
	byShop := map[int][]int{}
	reserved := map[int][]int{}
	for i, v := range p.devices {
		shop := p.donations[v.donation].workshop
		switch v.state {
		case lifecycle.Delivered, lifecycle.Returned:
			byShop[shop] = append(byShop[shop], i)
		case lifecycle.Reserved:
			reserved[shop] = append(reserved[shop], i)
		}
	}
	avail := func(i int) time.Time { v := p.devices[i]; return v.times[len(v.times)-1] }
	limit := p.now.Add(-time.Hour)
	for _, shop := range sortedKeys(byShop) {
		devs := byShop[shop]
		slices.SortFunc(devs, func(a, b int) int { return avail(a).Compare(avail(b)) })
		for len(devs) > 0 {
			k := min(len(devs), 3+r.IntN(28))
			group := devs[:k:k]
			devs = devs[k:]
			ready := avail(group[len(group)-1])
			reservedAt := minTime(ready.Add(days(r, 0.5, 3)), limit.Add(-3*time.Hour))
			created := minTime(reservedAt.Add(days(r, 1, 5)), limit.Add(-2*time.Hour))
			confirmed := minTime(created.Add(days(r, 0.1, 5)), limit.Add(-time.Hour))
			h := scaleHandover{workshop: shop, beneficiary: benef[r.IntN(len(benef))], createdAt: created,
				confirmedAt: confirmed, answer: scaleAnswers[r.IntN(len(scaleAnswers))], devices: group}
			req := p.newRequest(r, h.beneficiary, "fulfilled", reservedAt, group)
			req.fulfilled = confirmed
			for j, i := range group {
				v := &p.devices[i]
				v.handover, v.reqs = len(p.handovers), len(p.requests)
				at := maxTime(reservedAt.Add(time.Duration(j)*time.Minute), avail(i).Add(time.Minute))
				v.chain, v.times = append(v.chain, lifecycle.Reserved, lifecycle.Delivered), append(v.times, at, confirmed)
				if v.state == lifecycle.Returned {
					back := confirmed.Add(days(r, 30, 500))
					if back.After(limit) {
						back = confirmed.Add(time.Duration(r.Int64N(int64(limit.Sub(confirmed)) + 1)))
					}
					v.chain, v.times = append(v.chain, lifecycle.Returned), append(v.times, back.Truncate(time.Second))
				}
			}
			p.requests = append(p.requests, req)
			p.handovers = append(p.handovers, h)
		}
	}
	for _, shop := range sortedKeys(reserved) {
		devs := reserved[shop]
		slices.SortFunc(devs, func(a, b int) int { return avail(a).Compare(avail(b)) })
		for len(devs) > 0 {
			k := min(len(devs), 3+r.IntN(15))
			group := devs[:k:k]
			devs = devs[k:]
			at := avail(group[len(group)-1]).Add(days(r, 0.5, 10))
			req := p.newRequest(r, benef[r.IntN(len(benef))], "approved", at, group)
			for j, i := range group {
				v := &p.devices[i]
				v.reqs = len(p.requests)
				v.chain, v.times = append(v.chain, lifecycle.Reserved), append(v.times, at.Add(time.Duration(j)*time.Minute))
			}
			p.requests = append(p.requests, req)
		}
	}
}

// newRequest makes the request a group of devices answers: one line per
// category, submitted and approved before the devices were reserved.
func (p *scalePlan) newRequest(r *rand.Rand, benef int, state string, reservedAt time.Time, group []int) scaleRequest {
	decided := reservedAt.Add(-days(r, 0.5, 20))
	req := scaleRequest{beneficiary: benef, state: state, decided: decided, submitted: decided.Add(-days(r, 0.5, 10))}
	for _, i := range group {
		v := &p.devices[i]
		j := slices.IndexFunc(req.lines, func(l scaleLine) bool { return l.category == v.category })
		if j < 0 {
			j = len(req.lines)
			req.lines = append(req.lines, scaleLine{category: v.category})
		}
		req.lines[j].quantity++
		v.line2 = j
	}
	return req
}

func sortedKeys(m map[int][]int) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func sqrtF(x float64) float64 { return math.Sqrt(x) }

func itoa(n int) string { return strconv.Itoa(n) }

func itoa6(n int) string { return pad(n, 6) }

func itoa8(n int) string { return pad(n, 8) }

func pad(n, w int) string {
	s := strconv.Itoa(n)
	for len(s) < w {
		s = "0" + s
	}
	return s[len(s)-w:]
}
