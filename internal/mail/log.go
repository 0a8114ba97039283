package mail

import (
	"context"
	"log/slog"
)

// logSender stands in for SMTP in the local default setup: the whole message,
// links included, goes to the log, and Send reports Logged so the caller can
// show the link to the operator.
type logSender struct {
	log *slog.Logger
}

func (s *logSender) Send(ctx context.Context, m Message) (Delivery, error) {
	if _, err := m.check(); err != nil {
		return 0, err
	}
	s.log.InfoContext(ctx, "mail not sent (no SMTP configured)",
		slog.String("to", m.To),
		slog.String("subject", m.Subject),
		slog.String("text", m.Text),
	)
	return Logged, nil
}
