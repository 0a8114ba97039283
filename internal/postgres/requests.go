package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"gorm.io/gorm"
)

// Beneficiaries' requests (docs/requests.md): filing one with its lines,
// listing and reading them within the caller's scope; the operator's
// decision, the cancellation that gives the reserved devices back and the
// fulfilment that follows deliveries are in requests_state.go. Every
// change of state leaves a row in request_events.

// RequestScope confines request queries: a beneficiary organisation sees
// its own requests; the zero scope (operators) sees every request.
type RequestScope struct {
	BeneficiaryOrgID int64
}

const requestScopeCond = `(? = 0 OR r.beneficiary_org_id = ?)`

func (s RequestScope) args() []any { return []any{s.BeneficiaryOrgID, s.BeneficiaryOrgID} }

// Request is a beneficiary's request with its totals; Lines and History
// are filled by Request (the detail), not by the listing.
type Request struct {
	ID               int64                   `json:"id"`
	BeneficiaryOrgID int64                   `json:"beneficiary_organisation_id"`
	BeneficiaryName  string                  `json:"beneficiary_name"`
	State            allocation.RequestState `json:"state"`
	Purpose          string                  `json:"purpose"`
	DeliveryCommune  string                  `json:"delivery_commune"`
	Criteria         []allocation.Criterion  `json:"criteria"`
	Priority         int                     `json:"priority"`
	SubmittedByName  string                  `json:"submitted_by"`
	SubmittedAt      time.Time               `json:"submitted_at"`
	DecidedByName    string                  `json:"decided_by,omitempty"`
	DecidedAt        *time.Time              `json:"decided_at,omitempty"`
	DecisionReason   string                  `json:"decision_reason,omitempty"`
	Version          int                     `json:"version"`
	UpdatedAt        time.Time               `json:"updated_at"`
	// Devices is what the lines ask for; Delivered what was handed over,
	// each line counted up to its quantity.
	Devices   int            `json:"devices"`
	Delivered int            `json:"delivered"`
	Lines     []RequestLine  `json:"lines,omitempty"`
	History   []RequestEvent `json:"history,omitempty"`
}

// RequestLine is a line of a request with how far it got: devices in the
// operator's draft proposal (counted for operators only: a draft is their
// work in progress), reserved for the beneficiary's answer, accepted and
// waiting for the handover, delivered.
type RequestLine struct {
	ID     int64 `json:"id"`
	Number int   `json:"line"` // from 1
	allocation.Line
	Proposed  int `json:"proposed"`
	Reserved  int `json:"reserved"`
	Accepted  int `json:"accepted"`
	Delivered int `json:"delivered"`
}

// RequestEvent is one change of a request's state: who (a user and the
// organisation it acted for; empty when berriz itself moved the request
// after a delivery), when, from which state to which, and why.
type RequestEvent struct {
	At        time.Time               `json:"at"`
	ActorName string                  `json:"actor"`
	ActorOrg  string                  `json:"actor_organisation"`
	From      allocation.RequestState `json:"from,omitempty"`
	To        allocation.RequestState `json:"to"`
	Reason    string                  `json:"reason,omitempty"`
}

// requestColumns: a request, its people and its totals (delivered counted
// up to each line's quantity, as fulfilment counts them).
const requestColumns = `r.id, r.beneficiary_org_id, o.name, r.state, r.purpose, r.delivery_commune,
	array_to_string(r.criteria, ','), r.priority, coalesce(su.name, ''), r.submitted_at, coalesce(du.name, ''), r.decided_at,
	r.decision_reason, r.version, r.updated_at,
	(SELECT coalesce(sum(l.quantity), 0) FROM request_lines l WHERE l.request_id = r.id),
	(SELECT coalesce(sum(least(l.quantity, (SELECT count(*) FROM reservations v
		WHERE v.request_line_id = l.id AND v.state = 'delivered'))), 0) FROM request_lines l WHERE l.request_id = r.id)`

const requestFrom = ` FROM requests r JOIN organisations o ON o.id = r.beneficiary_org_id
	LEFT JOIN users su ON su.id = r.submitted_by LEFT JOIN users du ON du.id = r.decided_by`

func scanRequest(row interface{ Scan(...any) error }) (Request, error) {
	var r Request
	var criteria string
	err := row.Scan(&r.ID, &r.BeneficiaryOrgID, &r.BeneficiaryName, &r.State, &r.Purpose, &r.DeliveryCommune, &criteria,
		&r.Priority, &r.SubmittedByName, &r.SubmittedAt, &r.DecidedByName, &r.DecidedAt, &r.DecisionReason, &r.Version,
		&r.UpdatedAt, &r.Devices, &r.Delivered)
	r.Criteria = []allocation.Criterion{}
	for _, c := range strings.Split(criteria, ",") {
		if c != "" {
			r.Criteria = append(r.Criteria, allocation.Criterion(c))
		}
	}
	return r, err
}

// requestLink is a request's page, without language: notifications point
// there.
func requestLink(id int64) string { return "/requests/" + strconv.FormatInt(id, 10) }

// CreateRequest files a request for a beneficiary organisation (the
// caller's own, or the one an operator names), checked by the caller
// (allocation.RequestInput / RequestJSON); its priority comes from its
// criteria. The organisation must be an active beneficiary: a field error
// under "beneficiary" otherwise. The operators are told.
func (db *DB) CreateRequest(ctx context.Context, beneficiaryOrgID int64, actor *account.Principal,
	r allocation.NewRequest) (Request, error) {
	switch {
	case len(r.Lines) == 0:
		return Request{}, berriz.FieldErrors{allocation.FieldLines: "request.error.no_lines"}.Err()
	case len(r.Lines) > allocation.MaxLines:
		return Request{}, berriz.FieldErrors{allocation.FieldLines: "request.error.too_many_lines"}.Err()
	}
	criteria := make([]string, len(r.Criteria))
	for i, c := range r.Criteria {
		if !c.Valid() { // the array literal below holds nothing but known names
			return Request{}, berriz.FieldErrors{allocation.FieldCriteria: "request.error.criterion_unknown"}.Err()
		}
		criteria[i] = string(c)
	}
	var id int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var kind account.OrgKind
		var active bool
		var name string
		err := tx.Raw(`SELECT kind, active, name FROM organisations WHERE id = ? FOR SHARE`, beneficiaryOrgID).Row().
			Scan(&kind, &active, &name)
		if err != nil && !isNoRows(err) {
			return err
		}
		if err != nil || !active || kind.Role() != account.RoleBeneficiary {
			return &berriz.Error{Kind: berriz.Invalid, Message: "error.invalid_fields",
				Fields: map[string]string{"beneficiary": "request.error.beneficiary_invalid"}, Err: err}
		}
		if err := tx.Raw(`INSERT INTO requests (beneficiary_org_id, purpose, delivery_commune, criteria, priority, submitted_by)
			VALUES (?, ?, ?, ?::text[], ?, nullif(?, 0)) RETURNING id`, beneficiaryOrgID, r.Purpose, r.DeliveryCommune,
			textArray(criteria), r.Priority(), actorID(actor)).Row().Scan(&id); err != nil {
			return err
		}
		if err := insertRequestLines(tx, id, r.Lines); err != nil {
			return err
		}
		if err := recordRequestEvent(tx, id, actor, "", allocation.Submitted, ""); err != nil {
			return err
		}
		return notifyOperators(tx, Notice{Kind: "notify.request_submitted", Link: requestLink(id),
			Args: map[string]string{"request": strconv.FormatInt(id, 10), "organisation": name}})
	})
	if err != nil {
		return Request{}, fmt.Errorf("create request for organisation %d: %w", beneficiaryOrgID, err)
	}
	return db.Request(ctx, id, RequestScope{})
}

// insertRequestLines stores the lines, numbered from 1, in one statement
// (at most allocation.MaxLines rows).
func insertRequestLines(tx *gorm.DB, requestID int64, lines []allocation.Line) error {
	var sb strings.Builder
	args := make([]any, 0, len(lines)*9)
	for i, l := range lines {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?, ?, ?, ?, nullif(?, 0), nullif(?, 0), nullif(?::numeric, 0), nullif(?, ''), ?)")
		args = append(args, requestID, i+1, l.Category, l.Quantity, l.MinRAMGB, l.MinStorageGB, l.MinScreenInches,
			string(l.MinGrade), l.Notes)
	}
	return tx.Exec(`INSERT INTO request_lines (request_id, line, category, quantity, min_ram_gb, min_storage_gb,
		min_screen_inches, min_grade, notes) VALUES `+sb.String(), args...).Error
}

// recordRequestEvent traces a change of a request's state; a nil actor is
// berriz itself.
func recordRequestEvent(tx *gorm.DB, id int64, actor *account.Principal, from, to allocation.RequestState, reason string) error {
	var org int64
	if actor != nil {
		org = actor.OrgID
	}
	return tx.Exec(`INSERT INTO request_events (request_id, actor_user_id, actor_org_id, from_state, to_state, reason)
		VALUES (?, nullif(?, 0), nullif(?, 0), ?, ?, ?)`, id, actorID(actor), org, string(from), string(to), reason).Error
}

// RequestFilter narrows Requests.
type RequestFilter struct {
	Scope RequestScope
	State allocation.RequestState // "" for every state
	Page  int
}

// Requests returns one page of the requests the scope sees. Operators get
// the queue: requests still open (submitted, approved, partially
// fulfilled) before closed ones, then by priority, then the longest wait
// first. A beneficiary gets its own requests, newest first.
func (db *DB) Requests(ctx context.Context, f RequestFilter) ([]Request, Page, error) {
	cond := requestScopeCond + ` AND (? = '' OR r.state = ?)`
	args := append(f.Scope.args(), string(f.State), string(f.State))
	page := Page{Number: max(f.Page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM requests r WHERE `+cond, args...).Row().Scan(&page.Total); err != nil {
		return nil, page, fmt.Errorf("count requests: %w", err)
	}
	order := ` ORDER BY r.id DESC`
	if f.Scope.BeneficiaryOrgID == 0 {
		order = ` ORDER BY r.state IN ('submitted', 'approved', 'partially_fulfilled') DESC, r.priority DESC, r.submitted_at, r.id`
	}
	rows, err := g.Raw(`SELECT `+requestColumns+requestFrom+` WHERE `+cond+order+` LIMIT ? OFFSET ?`,
		append(args, PageSize, offset(f.Page))...).Rows()
	if err != nil {
		return nil, page, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, page, fmt.Errorf("list requests: %w", err)
		}
		out = append(out, r)
	}
	return out, page, rows.Err()
}

// Request returns one request the scope may see, with its lines, their
// progress and its history; any other is not found.
func (db *DB) Request(ctx context.Context, id int64, scope RequestScope) (Request, error) {
	g := db.gorm.WithContext(ctx)
	r, err := scanRequest(g.Raw(`SELECT `+requestColumns+requestFrom+` WHERE r.id = ? AND `+requestScopeCond,
		append([]any{id}, scope.args()...)...).Row())
	if err != nil {
		return Request{}, fmt.Errorf("request %d: %w", id, notFound(err, "request.error.not_found"))
	}
	if r.Lines, err = requestLines(g, id, scope.BeneficiaryOrgID == 0); err != nil {
		return Request{}, fmt.Errorf("lines of request %d: %w", id, err)
	}
	if r.History, err = requestHistory(g, id); err != nil {
		return Request{}, fmt.Errorf("history of request %d: %w", id, err)
	}
	return r, nil
}

func requestLines(g *gorm.DB, id int64, drafts bool) ([]RequestLine, error) {
	rows, err := g.Raw(`SELECT l.id, l.line, l.category, l.quantity, coalesce(l.min_ram_gb, 0), coalesce(l.min_storage_gb, 0),
			coalesce(l.min_screen_inches, 0)::float8, coalesce(l.min_grade, ''), l.notes,
			count(*) FILTER (WHERE v.state = 'proposed' AND p.state = 'draft' AND ?),
			count(*) FILTER (WHERE v.state = 'reserved'),
			count(*) FILTER (WHERE v.state = 'accepted'),
			count(*) FILTER (WHERE v.state = 'delivered')
		FROM request_lines l LEFT JOIN reservations v ON v.request_line_id = l.id LEFT JOIN proposals p ON p.id = v.proposal_id
		WHERE l.request_id = ? GROUP BY l.id ORDER BY l.line`, drafts, id).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RequestLine
	for rows.Next() {
		var l RequestLine
		if err := rows.Scan(&l.ID, &l.Number, &l.Category, &l.Quantity, &l.MinRAMGB, &l.MinStorageGB, &l.MinScreenInches,
			&l.MinGrade, &l.Notes, &l.Proposed, &l.Reserved, &l.Accepted, &l.Delivered); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func requestHistory(g *gorm.DB, id int64) ([]RequestEvent, error) {
	rows, err := g.Raw(`SELECT e.at, coalesce(u.name, ''), coalesce(o.name, ''), e.from_state, e.to_state, e.reason
		FROM request_events e LEFT JOIN users u ON u.id = e.actor_user_id LEFT JOIN organisations o ON o.id = e.actor_org_id
		WHERE e.request_id = ? ORDER BY e.id`, id).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RequestEvent
	for rows.Next() {
		var e RequestEvent
		if err := rows.Scan(&e.At, &e.ActorName, &e.ActorOrg, &e.From, &e.To, &e.Reason); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
