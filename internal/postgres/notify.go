package postgres

import (
	"encoding/json"
	"fmt"

	"gorm.io/gorm"
)

// Notifications are written inside the transaction of the change they
// tell about, so nobody is told of a change that was rolled back; the
// daily digest job sends them. Who is told: the members of an organisation
// (a beneficiary's request), or the operators.

// Notice is one thing to tell users: a kind (the translation key family of
// its message, e.g. "notify.request_approved"), the values of the message's
// placeholders and the page it points to (a path, without language).
type Notice struct {
	Kind string
	Args map[string]string
	Link string
}

// notifyOrg tells every member of an active organisation. Users who
// switched e-mails off still see their notifications on their page.
func notifyOrg(tx *gorm.DB, orgID int64, n Notice) error {
	return notifyWhere(tx, `u.organisation_id = ?`, []any{orgID}, n)
}

// notifyOperators tells every operator.
func notifyOperators(tx *gorm.DB, n Notice) error {
	return notifyWhere(tx, `o.kind = 'operator'`, nil, n)
}

func notifyWhere(tx *gorm.DB, cond string, args []any, n Notice) error {
	if n.Args == nil {
		n.Args = map[string]string{}
	}
	raw, err := json.Marshal(n.Args)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.Kind, err)
	}
	// A user who switched e-mails off gets the notification on the page,
	// already settled: the digest never mails it.
	q := `INSERT INTO notifications (user_id, kind, args, link, sent_at)
		SELECT u.id, ?, ?::jsonb, ?, CASE WHEN u.notify_email THEN NULL ELSE now() END FROM users u JOIN organisations o ON o.id = u.organisation_id
		WHERE o.active AND ` + cond
	if err := tx.Exec(q, append([]any{n.Kind, string(raw), cut(n.Link, 500)}, args...)...).Error; err != nil {
		return fmt.Errorf("notify %s: %w", n.Kind, err)
	}
	return nil
}
