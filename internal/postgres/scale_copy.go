package postgres

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/berriz/berriz/internal/co2"
	"github.com/berriz/berriz/internal/lifecycle"
)

// The COPY of each table of the territory at scale (scale_load.go).

func (l *scaleLoader) copyOrgs() (int, error) {
	p := l.p
	since := p.now.AddDate(0, -scaleMonths-1, 0)
	return l.copy("organisations", []string{"id", "kind", "name", "commune", "official_id", "created_at", "updated_at"},
		rows(len(p.orgs), func(i int) []any {
			o := p.orgs[i]
			return []any{o.id, string(o.kind), o.name, o.commune, nullableText(o.official), since, since}
		}))
}

// copyUsers gives each organisation its administrator. citext has no
// binary COPY codec in pgx, hence arrays unnested by one INSERT.
func (l *scaleLoader) copyUsers() (int, error) {
	p := l.p
	n := len(p.orgs)
	ids, orgs, emails, names, hashes := make([]int64, n), make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
	for i, o := range p.orgs {
		ids[i], orgs[i] = o.user, o.id
		emails[i] = fmt.Sprintf("charge-%s-%d@demo.berriz.eus", o.kind, o.id)
		names[i], hashes[i] = "Admin "+cut(o.name, 190), l.o.PasswordHash
	}
	tag, err := l.c.Exec(l.ctx, `INSERT INTO users (id, organisation_id, email, name, password_hash, org_admin, notify_email)
		OVERRIDING SYSTEM VALUE
		SELECT id, org, email, name, hash, true, false FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])
			AS u (id, org, email, name, hash)`, ids, orgs, emails, names, hashes)
	return int(tag.RowsAffected()), err
}

func (l *scaleLoader) copyDonations() (int, error) {
	p := l.p
	return l.copy("donations", []string{"id", "donor_org_id", "workshop_org_id", "state", "title", "declared_by",
		"version", "created_at", "updated_at"},
		rows(len(p.donations), func(i int) []any {
			d := p.donations[i]
			donor := p.orgs[d.donor]
			updated := maxTime(d.at, d.receivedAt)
			return []any{d.id, donor.id, p.orgs[d.workshop].id, d.state,
				fmt.Sprintf("Lot %s du %s", donor.name, d.at.In(paris).Format("02/01/2006")), donor.user,
				map[string]int{"declared": 2, "collected": 3, "received": 4}[d.state], d.at, updated}
		}))
}

func (l *scaleLoader) copyDevices() (int, error) {
	p := l.p
	return l.bulkCopy("devices", []string{"id", "donation_id", "line", "category", "brand", "model", "serial", "year",
		"storage_drives", "weight_kg", "state", "version", "cycle", "state_since", "grade", "event_seq", "event_head",
		"created_at", "updated_at"},
		rows(len(p.devices), func(i int) []any {
			v := p.devices[i]
			d := p.donations[v.donation]
			since, cycle := d.at, 1
			if n := len(v.times); n > 0 {
				since = v.times[n-1]
			}
			if v.state == lifecycle.Returned {
				cycle = 2
			}
			var head any
			if len(v.chain) > 0 {
				head = l.chain(i, nil)
			}
			return []any{v.id, d.id, v.line, v.category, v.brand, v.model, v.serial, v.year, v.drives, v.weight,
				string(v.state), 1 + len(v.chain), cycle, since, nullableText(v.grade), len(v.chain), head, d.at, since}
		}))
}

// copyTags prints one batch of tags per 1,000 devices a workshop received,
// and links each received device to its tag at intake.
func (l *scaleLoader) copyTags() (int, error) {
	p := l.p
	type batch struct {
		shop  int
		at    time.Time
		count int
	}
	var batches []batch
	of := make([]int, len(p.devices)) // device -> batch
	open := map[int]int{}             // workshop -> its batch being filled
	for i, v := range p.devices {
		if len(v.chain) == 0 {
			continue
		}
		shop := p.donations[v.donation].workshop
		b, ok := open[shop]
		if !ok || batches[b].count == 1000 {
			b = len(batches)
			batches = append(batches, batch{shop: shop, at: v.times[0].Add(-day)})
			open[shop] = b
		}
		batches[b].count++
		if t := v.times[0].Add(-day); t.Before(batches[b].at) {
			batches[b].at = t
		}
		of[i] = b
	}
	first, err := l.reserve("tag_batches", len(batches))
	if err != nil {
		return 0, err
	}
	if _, err := l.copy("tag_batches", []string{"id", "organisation_id", "created_by", "created_at", "count"},
		rows(len(batches), func(i int) []any {
			b := batches[i]
			return []any{first + int64(i), p.orgs[b.shop].id, p.orgs[b.shop].user, b.at, b.count}
		})); err != nil {
		return 0, err
	}
	i := 0
	return l.bulkCopy("tags", []string{"code", "batch_id", "device_id", "linked_at", "created_at"}, func() []any {
		for ; i < len(p.devices); i++ {
			v := p.devices[i]
			if len(v.chain) == 0 {
				continue
			}
			i++
			return []any{v.tag, first + int64(of[i-1]), v.id, v.times[0], batches[of[i-1]].at}
		}
		return nil
	})
}

func (l *scaleLoader) copyRequests() (int, error) {
	p := l.p
	n, err := l.copy("requests", []string{"id", "beneficiary_org_id", "state", "purpose", "delivery_commune",
		"criteria", "priority", "submitted_by", "submitted_at", "decided_by", "decided_at", "version", "updated_at"},
		rows(len(p.requests), func(i int) []any {
			r := p.requests[i]
			b := p.orgs[r.beneficiary]
			updated := maxTime(r.decided, r.fulfilled)
			criteria := []string{}
			if i%3 == 0 {
				criteria = []string{"digital_inclusion"}
			}
			return []any{r.id, b.id, r.state, "Équipement numérique pour nos élèves et usagers", b.commune, criteria,
				10 * len(criteria), b.user, r.submitted, p.orgs[p.operator].user, r.decided, map[string]int{"approved": 2, "fulfilled": 3}[r.state], updated}
		}))
	if err != nil {
		return n, err
	}
	type ref struct{ r, l int }
	var refs []ref
	for i, r := range p.requests {
		for j := range r.lines {
			refs = append(refs, ref{i, j})
		}
	}
	m, err := l.copy("request_lines", []string{"id", "request_id", "line", "category", "quantity"},
		rows(len(refs), func(i int) []any {
			r := p.requests[refs[i].r]
			ln := r.lines[refs[i].l]
			return []any{ln.id, r.id, refs[i].l + 1, ln.category, ln.quantity}
		}))
	return n + m, err
}

func (l *scaleLoader) copyHandovers() (int, error) {
	p := l.p
	return l.copy("handovers", []string{"id", "request_id", "workshop_org_id", "state", "number", "created_by",
		"created_at", "confirmed_by", "confirmed_at", "answer"},
		rows(len(p.handovers), func(i int) []any {
			h := p.handovers[i]
			return []any{h.id, h.request, p.orgs[h.workshop].id, "confirmed", h.number, p.orgs[h.workshop].user,
				h.createdAt, p.orgs[h.beneficiary].user, h.confirmedAt, nullableText(h.answer)}
		}))
}

func (l *scaleLoader) copyReservations() (int, error) {
	p := l.p
	i := 0
	return l.bulkCopy("reservations", []string{"id", "device_id", "request_line_id", "state", "handover_id", "created_by",
		"created_at", "answered_by", "answered_at"}, func() []any {
		for ; i < len(p.devices); i++ {
			v := p.devices[i]
			if v.reqs < 0 {
				continue
			}
			i++
			r := p.requests[v.reqs]
			user := p.orgs[r.beneficiary].user
			at := v.times[slicesIndex(v.chain, lifecycle.Reserved)]
			state, handover := "accepted", any(nil)
			if v.handover >= 0 {
				state, handover = "delivered", p.handovers[v.handover].id
			}
			return []any{v.res, v.id, r.lines[v.line2].id, state, handover, user, at, user, at}
		}
		return nil
	})
}

func slicesIndex(s []lifecycle.State, x lifecycle.State) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}

// copyEmissions computes each delivered device's avoided emissions with
// the embedded factor set, as the handover's confirmation does (expected
// second life, default displacement rate); a device that came back has its
// estimate superseded by a consolidation with the second life observed.
func (l *scaleLoader) copyEmissions() (int, error) {
	p := l.p
	set := co2.Embedded()
	type computed struct {
		r      co2.Result
		params []byte
	}
	// D is calibrated, as at each confirmation, from the answers of every
	// handover confirmed so far (co2.Displacement; the default until 30).
	order := make([]int, len(p.handovers))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return p.handovers[a].confirmedAt.Compare(p.handovers[b].confirmedAt) })
	rate := make([]float64, len(p.handovers))
	answers := map[string]int{}
	for _, h := range order {
		answers[p.handovers[h].answer]++
		rate[h], _ = co2.Displacement(answers["bought_new"], answers["bought_second_hand"], answers["gone_without"])
	}
	type key struct {
		category string
		d        float64
	}
	estimates := map[key]computed{}
	compute := func(in co2.Input) (computed, error) {
		r, err := set.Compute(in)
		if err != nil {
			return computed{}, err
		}
		b, err := json.Marshal(r)
		return computed{r, b}, err
	}
	var failed error
	i, second := 0, false
	n, err := l.bulkCopy("emission_results", []string{"device_id", "cycle", "handover_id", "set_id", "method_version",
		"status", "current", "delivered_on", "params", "net_kg", "low_kg", "high_kg", "gross_kg", "per_year_kg",
		"created_at"}, func() []any {
		for ; i < len(p.devices); i++ {
			v := p.devices[i]
			if v.handover < 0 {
				continue
			}
			h := p.handovers[v.handover]
			k := key{v.category, rate[v.handover]}
			c, ok := estimates[k]
			if !ok {
				if c, failed = compute(co2.Input{Category: v.category, D: k.d}); failed != nil {
					return nil
				}
				estimates[k] = c
			}
			status, current, at := "estimated", v.state != lifecycle.Returned, h.confirmedAt
			if second {
				back := v.times[len(v.times)-1]
				if c, failed = compute(co2.Input{Category: v.category, Observed: true, D: k.d,
					SecondLifeYears: observedYears(h.confirmedAt, back)}); failed != nil {
					return nil
				}
				status, current, at, second = "consolidated", true, back, false
				i++
			} else if v.state == lifecycle.Returned {
				second = true // the same device again, consolidated
			} else {
				i++
			}
			r := c.r
			return []any{v.id, 1, h.id, set.ID, r.Method, status, current, parisDay(h.confirmedAt),
				string(c.params), r.Net, r.Low, r.High, r.Gross, r.PerYear, at}
		}
		return nil
	})
	if failed != nil {
		return n, failed
	}
	return n, err
}

// parisDay is the day of t in France, the day whose month totals credit.
func parisDay(t time.Time) time.Time {
	y, m, d := t.In(paris).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
