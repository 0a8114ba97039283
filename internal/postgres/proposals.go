package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/allocation"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/diagnosis"
	"gorm.io/gorm"
)

// Proposals: the operator runs matching (internal/allocation, Match) over
// the devices available now and the open lines' remaining needs; the
// result is a draft whose 'proposed' reservations hold nothing yet. The
// operator edits it (takes a device off a line, adds an available device
// that meets a line) and sends it, which reserves its devices until the
// expiry (proposals_send.go), or discards it. One draft at a time: the
// partial unique index proposals_one_draft refuses a second one, so two
// operators running matching at once get one draft and one conflict.

// The proposal states.
const (
	ProposalDraft     = "draft"
	ProposalSent      = "sent"
	ProposalDiscarded = "discarded"
)

// Proposal is a matching run with its reservations counted.
type Proposal struct {
	ID        int64      `json:"id"`
	State     string     `json:"state"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by,omitempty"` // the user's name, while the account exists
	SentAt    *time.Time `json:"sent_at,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // when its unanswered reservations expire
	SentBy    string     `json:"sent_by,omitempty"`
	Devices   int        `json:"devices"` // proposed, or sent
	Lines     int        `json:"lines"`
	Orgs      int        `json:"organisations"`
	Dropped   int        `json:"dropped"` // taken off at the send (SendProposal)
	// The answers so far, once sent: waiting (reserved), accepted...
	Waiting   int `json:"waiting"`
	Accepted  int `json:"accepted"`
	Declined  int `json:"declined"`
	Expired   int `json:"expired"`
	Released  int `json:"released"`
	Delivered int `json:"delivered"`
}

const proposalColumns = `p.id, p.state, p.created_at, coalesce(cu.name, ''), p.sent_at, p.expires_at, coalesce(su.name, ''),
	c.devices, c.lines, c.orgs, c.dropped, c.waiting, c.accepted, c.declined, c.expired, c.released, c.delivered`

const proposalFrom = ` FROM proposals p LEFT JOIN users cu ON cu.id = p.created_by LEFT JOIN users su ON su.id = p.sent_by
	CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE r.dropped_reason IS NULL) AS devices,
		count(DISTINCT r.request_line_id) FILTER (WHERE r.dropped_reason IS NULL) AS lines,
		count(DISTINCT q.beneficiary_org_id) FILTER (WHERE r.dropped_reason IS NULL) AS orgs,
		count(*) FILTER (WHERE r.dropped_reason IS NOT NULL) AS dropped, count(*) FILTER (WHERE r.state = 'reserved') AS waiting,
		count(*) FILTER (WHERE r.state = 'accepted') AS accepted, count(*) FILTER (WHERE r.state = 'declined') AS declined,
		count(*) FILTER (WHERE r.state = 'expired') AS expired, count(*) FILTER (WHERE r.state = 'released') AS released,
		count(*) FILTER (WHERE r.state = 'delivered') AS delivered
		FROM reservations r JOIN request_lines l ON l.id = r.request_line_id JOIN requests q ON q.id = l.request_id
		WHERE r.proposal_id = p.id) c`

func scanProposal(row interface{ Scan(...any) error }) (Proposal, error) {
	var p Proposal
	err := row.Scan(&p.ID, &p.State, &p.CreatedAt, &p.CreatedBy, &p.SentAt, &p.ExpiresAt, &p.SentBy, &p.Devices, &p.Lines,
		&p.Orgs, &p.Dropped, &p.Waiting, &p.Accepted, &p.Declined, &p.Expired, &p.Released, &p.Delivered)
	return p, err
}

// Proposals returns one page of the proposals, the draft first, then the
// newest.
func (db *DB) Proposals(ctx context.Context, page int) ([]Proposal, Page, error) {
	p := Page{Number: max(page, 1)}
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM proposals`).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("count proposals: %w", err)
	}
	rows, err := g.Raw(`SELECT `+proposalColumns+proposalFrom+` ORDER BY p.state = 'draft' DESC, p.id DESC LIMIT ? OFFSET ?`,
		PageSize, offset(p.Number)).Rows()
	if err != nil {
		return nil, p, fmt.Errorf("proposals: %w", err)
	}
	defer rows.Close()
	var out []Proposal
	for rows.Next() {
		pr, err := scanProposal(rows)
		if err != nil {
			return nil, p, fmt.Errorf("proposals: %w", err)
		}
		out = append(out, pr)
	}
	return out, p, rows.Err()
}

// Proposal returns one proposal.
func (db *DB) Proposal(ctx context.Context, id int64) (Proposal, error) {
	p, err := scanProposal(db.gorm.WithContext(ctx).Raw(`SELECT `+proposalColumns+proposalFrom+` WHERE p.id = ?`, id).Row())
	if err != nil {
		return Proposal{}, fmt.Errorf("proposal %d: %w", id, notFound(err, "matching.error.proposal_not_found"))
	}
	return p, nil
}

// DraftProposal returns the id of the draft, or 0 when there is none.
func (db *DB) DraftProposal(ctx context.Context) (int64, error) {
	var id int64
	err := db.gorm.WithContext(ctx).Raw(`SELECT coalesce(max(id), 0) FROM proposals WHERE state = 'draft'`).Row().Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("draft proposal: %w", err)
	}
	return id, nil
}

// errDraftExists is the conflict of a second draft (id: the first, when
// known).
func errDraftExists(id int64) *berriz.Error {
	e := berriz.E(berriz.Conflict, "matching.error.draft_exists")
	if id != 0 {
		e = e.WithDetail("proposal_id", id)
	}
	return e
}

// RunMatching drafts a proposal: matching over the devices available now
// and the remaining needs of the open requests' lines, each assignment a
// 'proposed' reservation. One transaction; the draft reserves nothing, so
// it takes no lock: sending it checks every device again.
func (db *DB) RunMatching(ctx context.Context, actor *account.Principal) (Proposal, error) {
	var id int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		var draft int64
		if err := tx.Raw(`SELECT coalesce(max(id), 0) FROM proposals WHERE state = 'draft'`).Row().Scan(&draft); err != nil {
			return err
		}
		if draft != 0 {
			return errDraftExists(draft)
		}
		if err := tx.Raw(`INSERT INTO proposals (created_by) VALUES (?) RETURNING id`, allocUser(actor)).Row().Scan(&id); err != nil {
			if berriz.KindOf(translate(err)) == berriz.Conflict {
				return errDraftExists(0).WithCause(err) // another operator's draft, committed meanwhile
			}
			return err
		}
		devices, err := freeDevices(tx)
		if err != nil {
			return err
		}
		lines, err := needLines(tx)
		if err != nil {
			return err
		}
		var devs, lns idArray
		for _, a := range allocation.Match(devices, lines) {
			for _, d := range a.Devices {
				devs, lns = append(devs, d), append(lns, a.LineID)
			}
		}
		if len(devs) == 0 {
			return nil
		}
		return tx.Exec(`INSERT INTO reservations (device_id, request_line_id, proposal_id, state, created_by)
			SELECT x.device, x.line, ?, 'proposed', ? FROM unnest(?::bigint[], ?::bigint[]) WITH ORDINALITY AS x(device, line, n)
			ORDER BY x.n`, id, allocUser(actor), devs, lns).Error
	})
	if err != nil {
		return Proposal{}, fmt.Errorf("run matching: %w", err)
	}
	return db.Proposal(ctx, id)
}

// freeDevices reads every available device with its specs, for matching.
func freeDevices(tx *gorm.DB) ([]allocation.MatchDevice, error) {
	rows, err := tx.Raw(`SELECT v.id, v.category, coalesce(v.ram_gb, 0), ` + allocStorageColumn + `,
		coalesce(v.screen_inches, 0)::float8, coalesce(v.grade, '') FROM devices v WHERE ` + freeDeviceCond).Rows()
	if err != nil {
		return nil, fmt.Errorf("available devices: %w", err)
	}
	defer rows.Close()
	var out []allocation.MatchDevice
	for rows.Next() {
		var d allocation.MatchDevice
		var grade string
		if err := rows.Scan(&d.ID, &d.Category, &d.RAMGB, &d.StorageGB, &d.ScreenInches, &grade); err != nil {
			return nil, fmt.Errorf("available devices: %w", err)
		}
		d.Grade = diagnosis.Grade(grade)
		out = append(out, d)
	}
	return out, rows.Err()
}

// needLines reads every open line that still needs devices, for matching.
func needLines(tx *gorm.DB) ([]allocation.MatchLine, error) {
	rows, err := tx.Raw(`SELECT * FROM (SELECT ` + openLinesColumns + openLinesFrom + ` WHERE ` + openLineCond + `) x
		WHERE x.need > 0`).Rows()
	if err != nil {
		return nil, fmt.Errorf("open lines: %w", err)
	}
	defer rows.Close()
	var out []allocation.MatchLine
	for rows.Next() {
		l, err := scanOpenLine(rows)
		if err != nil {
			return nil, fmt.Errorf("open lines: %w", err)
		}
		out = append(out, l.matchLine())
	}
	return out, rows.Err()
}

// ProposalLine is a line as a proposal's review shows it: what it still
// needs, how many devices the proposal gives it and how many its send
// dropped.
type ProposalLine struct {
	OpenLine
	InProposal int `json:"in_proposal"`
	Dropped    int `json:"dropped"`
}

// proposalLineQuery reads lines (the condition in %s) with what a
// proposal gives each, counted once over the proposal's reservations.
const proposalLineQuery = `SELECT * FROM (SELECT ` + openLinesColumns + `, coalesce(c.in_proposal, 0)::int AS in_proposal,
		coalesce(c.dropped, 0)::int AS dropped
	` + openLinesFrom + ` LEFT JOIN (SELECT pr.request_line_id, count(*) FILTER (WHERE pr.dropped_reason IS NULL) AS in_proposal,
		count(*) FILTER (WHERE pr.dropped_reason IS NOT NULL) AS dropped
		FROM reservations pr WHERE pr.proposal_id = ? GROUP BY pr.request_line_id) c ON c.request_line_id = l.id WHERE %s) x`

// proposalLinesCond selects the lines a proposal covers, and the outer
// condition on their counts: for a draft, every open line that still
// needs devices (those matching could not serve too, so the operator may
// add to them) and those the draft gives devices; once sent, the lines it
// gave devices (dropped ones included).
func proposalLinesCond(p Proposal) (cond, outer string) {
	if p.State == ProposalDraft {
		return `(` + openLineCond + ` OR c.request_line_id IS NOT NULL)`, ` WHERE x.need > 0 OR x.in_proposal > 0`
	}
	return `c.request_line_id IS NOT NULL`, ``
}

// ProposalLines returns one page of the lines a proposal covers
// (proposalLinesCond), in matching's service order.
func (db *DB) ProposalLines(ctx context.Context, p Proposal, page int) ([]ProposalLine, Page, error) {
	pg := Page{Number: max(page, 1)}
	cond, outer := proposalLinesCond(p)
	q := fmt.Sprintf(proposalLineQuery, cond) + outer
	g := db.gorm.WithContext(ctx)
	if err := g.Raw(`SELECT count(*) FROM (`+q+`) y`, p.ID).Row().Scan(&pg.Total); err != nil {
		return nil, pg, fmt.Errorf("count lines of proposal %d: %w", p.ID, err)
	}
	rows, err := g.Raw(q+` ORDER BY x.priority DESC, x.submitted_at, x.request_id, x.line, x.id LIMIT ? OFFSET ?`,
		p.ID, PageSize, offset(pg.Number)).Rows()
	if err != nil {
		return nil, pg, fmt.Errorf("lines of proposal %d: %w", p.ID, err)
	}
	defer rows.Close()
	var out []ProposalLine
	for rows.Next() {
		var l ProposalLine
		if l.OpenLine, err = scanOpenLine(rows, &l.InProposal, &l.Dropped); err != nil {
			return nil, pg, fmt.Errorf("lines of proposal %d: %w", p.ID, err)
		}
		out = append(out, l)
	}
	return out, pg, rows.Err()
}

// ProposalLine returns one of the lines a proposal covers
// (proposalLinesCond); any other is not found.
func (db *DB) ProposalLine(ctx context.Context, p Proposal, lineID int64) (ProposalLine, error) {
	var l ProposalLine
	var err error
	cond, outer := proposalLinesCond(p)
	l.OpenLine, err = scanOpenLine(db.gorm.WithContext(ctx).Raw(fmt.Sprintf(proposalLineQuery, `l.id = ? AND `+cond)+outer,
		p.ID, lineID).Row(), &l.InProposal, &l.Dropped)
	if err != nil {
		return ProposalLine{}, fmt.Errorf("line %d: %w", lineID, notFound(err, "matching.error.line_not_found"))
	}
	return l, nil
}

// ProposalDevices returns one page of the reservations a proposal makes
// for a line, in the order they were made (matching's: least powerful
// first, then the operator's additions).
func (db *DB) ProposalDevices(ctx context.Context, proposalID, lineID int64, page int) ([]Reservation, Page, error) {
	p := Page{Number: max(page, 1)}
	if err := db.gorm.WithContext(ctx).Raw(`SELECT count(*) FROM reservations WHERE proposal_id = ? AND request_line_id = ?`,
		proposalID, lineID).Row().Scan(&p.Total); err != nil {
		return nil, p, fmt.Errorf("devices of proposal %d: %w", proposalID, err)
	}
	out, err := db.reservations(ctx, ` WHERE r.proposal_id = ? AND r.request_line_id = ? ORDER BY r.id LIMIT ? OFFSET ?`,
		proposalID, lineID, PageSize, offset(p.Number))
	return out, p, err
}

// lockDraft locks a proposal and checks it is still a draft.
func lockDraft(tx *gorm.DB, id int64) error {
	var state string
	if err := tx.Raw(`SELECT state FROM proposals WHERE id = ? FOR UPDATE`, id).Row().Scan(&state); err != nil {
		return notFound(err, "matching.error.proposal_not_found")
	}
	if state != ProposalDraft {
		return berriz.E(berriz.Conflict, "matching.error.not_draft").WithArg("proposal", strconv.FormatInt(id, 10)).
			WithDetail("state", state)
	}
	return nil
}

// AddToProposal adds an available device to a line of a draft: the line's
// request must be open, the line still need a device beyond those the
// draft gives it, and the device meet it and be in the draft nowhere else.
func (db *DB) AddToProposal(ctx context.Context, proposalID, lineID, deviceID int64, actor *account.Principal) (Reservation, error) {
	var id int64
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := lockDraft(tx, proposalID); err != nil {
			return err
		}
		l, state, err := lockOpenLine(tx, lineID, 0)
		if err != nil {
			return err
		}
		d, err := catalogueDeviceTx(tx, deviceID)
		if err != nil {
			return err
		}
		var free bool
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM devices v WHERE v.id = ? AND `+freeDeviceCond+`)`, deviceID).Row().
			Scan(&free); err != nil {
			return err
		}
		if !free {
			return errDeviceTaken(d)
		}
		var other struct{ Request, Line int64 }
		err = tx.Raw(`SELECT l.request_id, l.line FROM reservations r JOIN request_lines l ON l.id = r.request_line_id
			WHERE r.proposal_id = ? AND r.device_id = ?`, proposalID, deviceID).Row().Scan(&other.Request, &other.Line)
		if err == nil {
			return berriz.E(berriz.Conflict, "matching.error.already_proposed").WithArg("device", allocDeviceName(d)).
				WithArg("request", strconv.FormatInt(other.Request, 10)).WithArg("line", strconv.FormatInt(other.Line, 10))
		}
		if !isNoRows(err) {
			return err
		}
		var planned int
		if err := tx.Raw(`SELECT count(*) FROM reservations WHERE proposal_id = ? AND request_line_id = ?`, proposalID, lineID).
			Row().Scan(&planned); err != nil {
			return err
		}
		if err := checkLineTakes(l, state, d, planned); err != nil {
			return err
		}
		return tx.Raw(`INSERT INTO reservations (device_id, request_line_id, proposal_id, state, created_by)
			VALUES (?, ?, ?, 'proposed', ?) RETURNING id`, deviceID, lineID, proposalID, allocUser(actor)).Row().Scan(&id)
	})
	if err != nil {
		return Reservation{}, fmt.Errorf("add device %d to line %d of proposal %d: %w", deviceID, lineID, proposalID, err)
	}
	return db.Reservation(ctx, id, 0)
}

// RemoveFromProposal takes a device off a draft (its reservation was only
// proposed: nothing to release).
func (db *DB) RemoveFromProposal(ctx context.Context, proposalID, reservationID int64) error {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := lockDraft(tx, proposalID); err != nil {
			return err
		}
		res := tx.Exec(`DELETE FROM reservations WHERE id = ? AND proposal_id = ? AND state = 'proposed'`, reservationID, proposalID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return berriz.E(berriz.NotFound, "matching.error.reservation_not_found")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove reservation %d from proposal %d: %w", reservationID, proposalID, err)
	}
	return nil
}

// DiscardProposal drops a draft and its proposed reservations: nothing was
// reserved, so nothing is released. The proposal stays, discarded, for the
// record; matching may run again.
func (db *DB) DiscardProposal(ctx context.Context, id int64) (Proposal, error) {
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		if err := lockDraft(tx, id); err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM reservations WHERE proposal_id = ? AND state = 'proposed'`, id).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE proposals SET state = 'discarded' WHERE id = ?`, id).Error
	})
	if err != nil {
		return Proposal{}, fmt.Errorf("discard proposal %d: %w", id, err)
	}
	return db.Proposal(ctx, id)
}
