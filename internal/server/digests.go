package server

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/mail"
	"github.com/berriz/berriz/internal/postgres"
)

// The daily digest of notifications (docs/notifications.md): every tick,
// once the digest hour of the day has come (Europe/Paris), each user with
// pending notifications, e-mails on and no digest yet this digest day gets
// one plain-text e-mail listing them in their language. The store claims
// the digests (marking them) before anything is sent, so several instances
// never mail a user twice; a send that fails for a reason worth retrying
// gives its digest back for the next tick.

const (
	// digestUsersPerRun bounds the digests one instance sends per tick:
	// the rest wait for the next tick (or another instance).
	digestUsersPerRun = 200
	// digestItems bounds the notifications one digest lists; it counts
	// the others and links to the page that shows them all.
	digestItems = 50
	// releaseTimeout bounds giving digests back after a failure, even
	// when the job's context is ending (shutdown).
	releaseTimeout = 30 * time.Second
)

// digestJobs are the notification area's background jobs. Digests come
// after the jobs that notify (expiring reservations...), so that what
// they notified goes out in the same tick.
func (s *Server) digestJobs() []job {
	return []job{
		{name: "notification_digests", run: s.sendDigests},
		{name: "notification_cleanup", run: s.cleanNotifications},
	}
}

// digestDayStart returns the start of the digest day now falls in (today
// at hour, Paris time), and false before that hour: nothing is mailed at
// night, and each user gets at most one digest between one day's hour and
// the next. Counting from the hour rather than from the last digest (24
// hours later) keeps the digest at the hour: a rolling 24 hours would move
// it a tick later whenever a tick runs a little early.
func digestDayStart(now time.Time, hour int) (time.Time, bool) {
	loc := accountZone()
	l := now.In(loc)
	start := time.Date(l.Year(), l.Month(), l.Day(), hour, 0, 0, 0, loc)
	return start, !l.Before(start)
}

// sendDigests claims the digests due and mails them.
func (s *Server) sendDigests(ctx context.Context, now time.Time) error {
	since, due := digestDayStart(now, s.cfg.DigestHour)
	if !due {
		return nil
	}
	ds, err := s.store.ClaimDigests(ctx, postgres.DigestClaim{Now: now, Since: since, Users: digestUsersPerRun, Items: digestItems})
	if err != nil {
		return err
	}
	sent := 0
	for i, d := range ds {
		err := ctx.Err()
		if err == nil {
			_, err = s.mailer.Send(ctx, s.digestMessage(d))
		}
		if err == nil {
			sent++
			continue
		}
		if errors.Is(err, mail.ErrInvalidMessage) {
			// The address itself is refused: retrying cannot help. The
			// notifications stay on the user's page.
			s.log.Warn("digest not sendable", "user_id", d.UserID, "error", err.Error())
			continue
		}
		// The server is unreachable, refuses us, or we are shutting down:
		// this digest and those not tried yet go back for the next tick,
		// rather than hammering a server that is down.
		rerr := s.releaseDigests(ctx, ds[i:])
		return errors.Join(fmt.Errorf("digests: %d sent, %d given back: user %d: %w", sent, len(ds)-i, d.UserID, err), rerr)
	}
	if len(ds) > 0 {
		s.log.Info("digests sent", "count", sent, "claimed", len(ds))
	}
	return nil
}

func (s *Server) releaseDigests(ctx context.Context, ds []postgres.Digest) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	var errs []error
	for _, d := range ds {
		errs = append(errs, s.store.ReleaseDigest(ctx, d))
	}
	return errors.Join(errs...)
}

// cleanNotifications settles what switched-off users will never be mailed
// and deletes notifications past their retention.
func (s *Server) cleanNotifications(ctx context.Context, now time.Time) error {
	c, err := s.store.CleanNotifications(ctx, now)
	if err != nil {
		return err
	}
	if c.Settled+c.Deleted > 0 {
		s.log.Info("notifications cleaned", "settled", c.Settled, "deleted", c.Deleted)
	}
	return nil
}

// digestMessage writes a digest, logging the kinds it had no message for.
func (s *Server) digestMessage(d postgres.Digest) mail.Message {
	m, unknown := composeDigest(s.cat, strings.TrimSuffix(s.cfg.PublicURL.String(), "/"), s.cfg.DigestHour, d)
	for _, k := range unknown {
		s.log.Warn("notification kind without a message: the digest says something changed", "kind", k)
	}
	return m
}

// digestDayLayouts write the digest's date in figures, as each language
// usually does.
var digestDayLayouts = map[i18n.Lang]string{
	i18n.FR: "02/01/2006",
	i18n.EU: "2006/01/02",
	i18n.EN: "2 Jan 2006",
}

// composeDigest writes the digest of d in the user's language: the
// notifications grouped by the page they point to (groups in the order of
// their newest notification, newest first within each), each group's link
// once, absolute, under base. It returns the message and the kinds that
// have no message in the catalogs (said as "something changed").
func composeDigest(cat *i18n.Catalogs, base string, hour int, d postgres.Digest) (mail.Message, []string) {
	lang, ok := i18n.Parse(d.Lang)
	if !ok {
		lang = i18n.Default
	}
	abs := func(p string) string { return base + "/" + string(lang) + p }
	t := func(key string, args map[string]string) string { return cat.T(lang, key, args) }
	var b strings.Builder
	b.WriteString(t("notifications.mail.greeting", map[string]string{"name": plainText(d.Name)}))
	b.WriteString("\n\n")
	b.WriteString(t("notifications.mail.intro", nil))
	b.WriteString("\n")
	var unknown []string
	for _, g := range groupByLink(d.Items) {
		b.WriteString("\n")
		for _, n := range g.items {
			msg, known := notificationText(cat, lang, n)
			if !known {
				unknown = append(unknown, n.Kind)
			}
			fmt.Fprintf(&b, "- %s  %s\n", accountDate(lang, n.CreatedAt), msg)
		}
		if g.link != "" {
			fmt.Fprintf(&b, "  %s\n", abs(g.link))
		}
	}
	if d.More > 0 {
		b.WriteString("\n")
		b.WriteString(t("notifications.mail.more", map[string]string{"count": strconv.Itoa(d.More), "link": abs("/account/notifications")}))
		b.WriteString("\n")
	}
	b.WriteString("\n")
	b.WriteString(t("notifications.mail.footer", map[string]string{"hour": strconv.Itoa(hour),
		"list": abs("/account/notifications"), "settings": abs("/account#notifications")}))
	b.WriteString("\n")
	to := (&netmail.Address{Name: plainText(d.Name), Address: d.Email}).String()
	subject := t("notifications.mail.subject", map[string]string{"date": d.ClaimedAt.In(accountZone()).Format(digestDayLayouts[lang])})
	return mail.Message{To: to, Subject: subject, Text: b.String()}, unknown
}

// linkGroup is the notifications of a digest that point to one page.
type linkGroup struct {
	link  string
	items []postgres.Notification
}

// groupByLink groups notifications (newest first) by their safe link,
// keeping the order of each group's newest one.
func groupByLink(ns []postgres.Notification) []linkGroup {
	var out []linkGroup
	at := map[string]int{}
	for _, n := range ns {
		link := safeLink(n.Link)
		i, ok := at[link]
		if !ok {
			i = len(out)
			at[link] = i
			out = append(out, linkGroup{link: link})
		}
		out[i].items = append(out[i].items, n)
	}
	return out
}

// notificationText is a notification's message in lang, its placeholders
// filled from its args; false when the catalogs have no message for its
// kind, in which case the message is a neutral "something changed". Only
// "notify." keys are messages: a kind cannot pull any other text.
func notificationText(cat *i18n.Catalogs, lang i18n.Lang, n postgres.Notification) (string, bool) {
	if !strings.HasPrefix(n.Kind, "notify.") || !cat.Has(n.Kind) {
		return cat.T(lang, "notifications.fallback", nil), false
	}
	args := make(map[string]string, len(n.Args))
	for k, v := range n.Args {
		args[k] = plainText(v)
	}
	return cat.T(lang, n.Kind, args), true
}

// safeLink returns link when it is a path of this site, "" otherwise: a
// notification only ever points inside berriz.
func safeLink(link string) string {
	if !strings.HasPrefix(link, "/") || strings.HasPrefix(link, "//") || strings.ContainsAny(link, "\\ ") ||
		strings.ContainsFunc(link, unicode.IsControl) {
		return ""
	}
	return link
}

// plainText keeps a value on one line of a plain-text message.
func plainText(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }), " ")
}
