package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Loading the territory at scale: the plan of scale_plan.go is written
// with COPY (pgx CopyFrom, binary), table by table in foreign-key order,
// on one connection. Ids are reserved from each table's identity sequence
// first (COPY writes the ids it is given, as INSERT ... OVERRIDING SYSTEM
// VALUE does), so that everything that refers to a row — the events' hash
// chains, which hash the device's id, their details, the emission results
// — is computed in Go before the rows exist. The load is not one
// transaction (a million devices' worth of WAL and locks for minutes):
// a load that fails half way leaves part of the territory, and the
// command says to load it again into a fresh database.

// ScaleResult counts what LoadScale wrote.
type ScaleResult struct {
	Organisations, Users, Donations, Devices, Tags, Events int
	Requests, Handovers, Deliveries, Emissions             int
	States                                                 map[string]int // devices by state
	OperatorUserID                                         int64
}

// LoadScale draws a territory of o.Devices devices and loads it. The
// database should hold no other load of the same seed (official ids and
// tag codes would collide).
func (db *DB) LoadScale(ctx context.Context, o ScaleOptions) (ScaleResult, error) {
	if o.Devices < 1 {
		return ScaleResult{}, errors.New("scale: at least one device")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Progress == nil {
		o.Progress = func(string, int, time.Duration) {}
	}
	t0 := time.Now()
	p := newScalePlan(o)
	o.Progress("plan (in memory)", len(p.devices), time.Since(t0))
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return ScaleResult{}, err
	}
	defer conn.Close()
	var res ScaleResult
	err = conn.Raw(func(dc any) error {
		l := &scaleLoader{ctx: ctx, db: db, c: dc.(*stdlib.Conn).Conn(), p: p, o: o}
		var err error
		res, err = l.load()
		return err
	})
	if err != nil {
		return res, fmt.Errorf("scale load: %w", err)
	}
	return res, nil
}

type scaleLoader struct {
	ctx context.Context
	db  *DB
	// every event's hash, by device (offsets) then seq, once computed
	hashes  []byte
	offsets []int
	hashed  []bool
	c       *pgx.Conn
	p       *scalePlan
	o       ScaleOptions
}

// step times one step and reports it.
func (l *scaleLoader) step(name string, fn func() (int, error)) error {
	t := time.Now()
	n, err := fn()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	l.o.Progress(name, n, time.Since(t))
	return nil
}

// reserve takes n ids from a table's identity sequence, under a lock that
// makes concurrent inserts wait until the block is set aside.
func (l *scaleLoader) reserve(table string, n int) (int64, error) {
	var first int64
	err := pgx.BeginFunc(l.ctx, l.c, func(tx pgx.Tx) error {
		if _, err := tx.Exec(l.ctx, `LOCK TABLE `+table+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		seq := `pg_get_serial_sequence('` + table + `', 'id')`
		if err := tx.QueryRow(l.ctx, `SELECT nextval(`+seq+`)`).Scan(&first); err != nil {
			return err
		}
		_, err := tx.Exec(l.ctx, `SELECT setval(`+seq+`, $1)`, first+int64(max(n, 1))-1)
		return err
	})
	return first, err
}

// copy copies rows made by next until it returns nil.
func (l *scaleLoader) copy(table string, cols []string, next func() []any) (int, error) {
	n, err := l.c.CopyFrom(l.ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		row := next()
		if row == nil {
			return nil, nil
		}
		return row, nil
	}))
	return int(n), err
}

// rows turns a count and a row maker into next for copy.
func rows(n int, row func(i int) []any) func() []any {
	i := 0
	return func() []any {
		if i >= n {
			return nil
		}
		i++
		return row(i - 1)
	}
}

func (l *scaleLoader) load() (ScaleResult, error) {
	p := l.p
	res := ScaleResult{States: map[string]int{}}
	// A bulk load may lose its last commits in a crash (it starts again
	// anyway); the observatory's triggers, if any, are rebuilt once at the
	// end rather than per row.
	for _, q := range []string{`SET synchronous_commit = off`, `SET maintenance_work_mem = '256MB'`,
		`SET berriz.observatory_bulk = 'on'`} {
		if _, err := l.c.Exec(l.ctx, q); err != nil {
			return res, err
		}
	}
	if err := l.step("ids reserved", l.assignIDs); err != nil {
		return res, err
	}
	steps := []struct {
		name string
		fn   func() (int, error)
	}{
		{"hash chains computed", l.hashChains}, {"organisations", l.copyOrgs}, {"users", l.copyUsers}, {"donations", l.copyDonations},
		{"devices", l.copyDevices}, {"tags", l.copyTags}, {"requests", l.copyRequests},
		{"handovers", l.copyHandovers}, {"reservations", l.copyReservations},
		{"device events (hash chains)", l.copyEvents}, {"emission results", l.copyEmissions},
		{"donation and request events", l.copyHistory}, {"analyze", l.analyze},
	}
	for _, s := range steps {
		if err := l.step(s.name, s.fn); err != nil {
			return res, err
		}
	}
	// Once, from the base tables, rather than per row during the load.
	if err := l.step("observatory totals rebuilt", func() (int, error) { return 0, l.db.RebuildObservatoryTotals(l.ctx) }); err != nil {
		return res, err
	}
	// The rebuilt cube has no statistics yet: without them the planner
	// expects a handful of rows per cuboid and reads thousands.
	if err := l.step("analyze (whole database)", func() (int, error) {
		_, err := l.c.Exec(l.ctx, `ANALYZE`)
		return 0, err
	}); err != nil {
		return res, err
	}
	res.Organisations, res.Users, res.Donations, res.Devices = len(p.orgs), len(p.orgs), len(p.donations), len(p.devices)
	res.Requests, res.Handovers = len(p.requests), len(p.handovers)
	res.OperatorUserID = p.orgs[p.operator].user
	for _, v := range p.devices {
		res.States[string(v.state)]++
		res.Events += len(v.chain)
		if len(v.chain) > 0 {
			res.Tags++
		}
		if v.handover >= 0 {
			res.Deliveries++
			res.Emissions++
		}
	}
	return res, nil
}

// assignIDs reserves the ids of every table and gives them out in order.
func (l *scaleLoader) assignIDs() (int, error) {
	p := l.p
	lines, events := 0, 0
	for _, r := range p.requests {
		lines += len(r.lines)
	}
	for _, v := range p.devices {
		events += len(v.chain)
	}
	ids := map[string]int{"organisations": len(p.orgs), "users": len(p.orgs), "donations": len(p.donations),
		"devices": len(p.devices), "requests": len(p.requests), "request_lines": lines, "handovers": len(p.handovers),
		"reservations": 0}
	for _, v := range p.devices {
		if v.reqs >= 0 {
			ids["reservations"]++
		}
	}
	first := map[string]int64{}
	total := 0
	for _, t := range []string{"organisations", "users", "donations", "devices", "requests", "request_lines",
		"handovers", "reservations"} {
		f, err := l.reserve(t, ids[t])
		if err != nil {
			return 0, err
		}
		first[t], total = f, total+ids[t]
	}
	for i := range p.orgs {
		p.orgs[i].id, p.orgs[i].user = first["organisations"]+int64(i), first["users"]+int64(i)
	}
	for i := range p.donations {
		p.donations[i].id = first["donations"] + int64(i)
	}
	res := first["reservations"]
	for i := range p.devices {
		v := &p.devices[i]
		v.id = first["devices"] + int64(i)
		if v.reqs >= 0 {
			v.res, res = res, res+1
		}
		if len(v.chain) > 0 {
			v.tag = tagCode(l.o.Seed, i)
		}
	}
	line := first["request_lines"]
	for i := range p.requests {
		p.requests[i].id = first["requests"] + int64(i)
		for j := range p.requests[i].lines {
			p.requests[i].lines[j].id, line = line, line+1
		}
	}
	var seq int64
	if err := l.c.QueryRow(l.ctx, `SELECT nextval('handover_numbers')`).Scan(&seq); err != nil {
		return 0, err
	}
	if _, err := l.c.Exec(l.ctx, `SELECT setval('handover_numbers', $1)`, seq+int64(max(len(p.handovers), 1))-1); err != nil {
		return 0, err
	}
	for i := range p.handovers {
		h := &p.handovers[i]
		h.id = first["handovers"] + int64(i)
		h.number = fmt.Sprintf("BRZ-H-%d-%06d", h.createdAt.In(paris).Year(), seq+int64(i))
		h.request = p.requests[p.devices[h.devices[0]].reqs].id
	}
	return total, nil
}

// tagCode is the i-th tag of a load: an odd multiplier walks every 40-bit
// number once, so codes never repeat within a load and look random.
func tagCode(seed uint64, i int) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	x := (uint64(i)*0x9E3779B97F + seed*0x5DEECE66D + 0xB) & (1<<40 - 1)
	b := make([]byte, 8)
	for j := 7; j >= 0; j-- {
		b[j] = alphabet[x&31]
		x >>= 5
	}
	return string(b)
}

func (l *scaleLoader) analyze() (int, error) {
	_, err := l.c.Exec(l.ctx, `ANALYZE organisations, users, donations, devices, tags, requests, request_lines,
		handovers, reservations, device_events, emission_results`)
	return 0, err
}

func nullableText(s string) any {
	if s == "" {
		return nil
	}
	return s
}
