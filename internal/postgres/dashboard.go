package postgres

import (
	"context"
	"fmt"
	"time"
)

// The workshop dashboard: how many devices stand in each state, the ones
// waiting longest in the workshop's hands, and the weekly throughput, for
// one workshop (or every workshop, for operators).

// StateCount is how many devices stand in a state.
type StateCount struct {
	State string `json:"state"`
	Count int    `json:"count"`
}

// WaitingDevice is a device waiting in the workshop, with since when.
type WaitingDevice struct {
	ID         int64     `json:"id"`
	Tag        string    `json:"tag,omitempty"`
	Category   string    `json:"category"`
	Brand      string    `json:"brand"`
	Model      string    `json:"model"`
	State      string    `json:"state"`
	StateSince time.Time `json:"state_since"`
	Workshop   string    `json:"workshop"`
}

// WeekThroughput counts the devices that entered the key states during one
// week (Monday, Europe/Paris).
type WeekThroughput struct {
	Week       time.Time `json:"week"`
	Received   int       `json:"received"`
	Published  int       `json:"published"` // became available
	Delivered  int       `json:"delivered"`
	Recycled   int       `json:"recycled"`
	Dismantled int       `json:"dismantled"`
}

// Dashboard is the workshop dashboard's data.
type Dashboard struct {
	States  []StateCount     `json:"states"`
	Waiting []WaitingDevice  `json:"waiting"`
	Weeks   []WeekThroughput `json:"weeks"` // oldest first, every week present
}

// waitingStates are the states in which a device waits for the workshop's
// next step.
var waitingStates = []string{"received", "diagnosed", "wiped", "refurbished", "returned"}

// DashboardWaiting is how many waiting devices the dashboard lists.
const DashboardWaiting = 10

// WorkshopDashboard gathers the dashboard of a workshop (0: every
// workshop) over the given number of weeks up to now.
func (db *DB) WorkshopDashboard(ctx context.Context, workshop int64, now time.Time, weeks int) (Dashboard, error) {
	out := Dashboard{Waiting: []WaitingDevice{}}
	g := db.gorm.WithContext(ctx)
	rows, err := g.Raw(`SELECT v.state, count(*) FROM devices v JOIN donations d ON d.id = v.donation_id
		WHERE d.workshop_org_id IS NOT NULL AND (? = 0 OR d.workshop_org_id = ?) GROUP BY v.state`, workshop, workshop).Rows()
	if err != nil {
		return out, fmt.Errorf("dashboard states: %w", err)
	}
	counts := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return out, fmt.Errorf("dashboard states: %w", err)
		}
		counts[s] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("dashboard states: %w", err)
	}
	for _, s := range deviceStatesInOrder {
		out.States = append(out.States, StateCount{State: s, Count: counts[s]})
	}

	rows, err = g.Raw(`SELECT v.id, coalesce(t.code, ''), v.category, v.brand, v.model, v.state, v.state_since, w.name
		FROM devices v JOIN donations d ON d.id = v.donation_id JOIN organisations w ON w.id = d.workshop_org_id
		LEFT JOIN tags t ON t.device_id = v.id
		WHERE v.state IN ? AND (? = 0 OR d.workshop_org_id = ?) AND v.recycling_batch_id IS NULL
		ORDER BY v.state_since, v.id LIMIT ?`, waitingStates, workshop, workshop, DashboardWaiting).Rows()
	if err != nil {
		return out, fmt.Errorf("dashboard waiting: %w", err)
	}
	for rows.Next() {
		var w WaitingDevice
		if err := rows.Scan(&w.ID, &w.Tag, &w.Category, &w.Brand, &w.Model, &w.State, &w.StateSince, &w.Workshop); err != nil {
			rows.Close()
			return out, fmt.Errorf("dashboard waiting: %w", err)
		}
		w.Tag = printedTag(w.Tag)
		out.Waiting = append(out.Waiting, w)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("dashboard waiting: %w", err)
	}

	first := mondayOf(now).AddDate(0, 0, -7*(weeks-1))
	byWeek := map[string]*WeekThroughput{}
	for i := range weeks {
		w := WeekThroughput{Week: first.AddDate(0, 0, 7*i)}
		out.Weeks = append(out.Weeks, w)
	}
	for i := range out.Weeks {
		byWeek[out.Weeks[i].Week.Format(time.DateOnly)] = &out.Weeks[i]
	}
	rows, err = g.Raw(`SELECT to_char(date_trunc('week', e.at AT TIME ZONE 'Europe/Paris'), 'YYYY-MM-DD'), e.to_state, count(*)
		FROM device_events e JOIN devices v ON v.id = e.device_id JOIN donations d ON d.id = v.donation_id
		WHERE e.kind = 'state' AND e.at >= ? AND e.to_state IN ('received', 'available', 'delivered', 'recycled', 'dismantled')
			AND (? = 0 OR d.workshop_org_id = ?)
		GROUP BY 1, 2`, time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, paris), workshop, workshop).Rows()
	if err != nil {
		return out, fmt.Errorf("dashboard throughput: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			week, state string
			n           int
		)
		if err := rows.Scan(&week, &state, &n); err != nil {
			return out, fmt.Errorf("dashboard throughput: %w", err)
		}
		w, ok := byWeek[week]
		if !ok {
			continue
		}
		switch state {
		case "received":
			w.Received += n
		case "available":
			w.Published += n
		case "delivered":
			w.Delivered += n
		case "recycled":
			w.Recycled += n
		case "dismantled":
			w.Dismantled += n
		}
	}
	return out, rows.Err()
}

// deviceStatesInOrder are the lifecycle's states, in DOMAIN.md's order.
var deviceStatesInOrder = []string{"declared", "received", "diagnosed", "wiped", "refurbished", "available", "reserved",
	"delivered", "returned", "recycled", "dismantled"}

// paris is the territory's time zone: weeks start on its Mondays.
var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}()

// mondayOf returns the Monday (00:00, Europe/Paris) of t's week, as a date
// in UTC so it compares with PostgreSQL's dates.
func mondayOf(t time.Time) time.Time {
	t = t.In(paris)
	offset := (int(t.Weekday()) + 6) % 7
	d := t.AddDate(0, 0, -offset)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
}
