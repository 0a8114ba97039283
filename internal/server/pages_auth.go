package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/mail"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// tokenPrefix marks berriz API tokens, so that secret scanners and people
// recognise one that leaked.
const tokenPrefix = "brz_"

func postgresSession(hash []byte, userID int64, expires time.Time, ip, ua string) postgres.NewSession {
	return postgres.NewSession{Hash: hash, UserID: userID, ExpiresAt: expires, IP: ip, UserAgent: ua}
}

var loginLabels = map[string]string{"email": "login.email", "password": "login.password"}

type loginPage struct{ Next string }

func (s *Server) loginForm(c *echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if principalOf(c) != nil && principalOf(c).UserID != 0 {
		return c.Redirect(http.StatusSeeOther, orDefault(next, localURL(langOf(c), "/account")))
	}
	return s.renderForm(c, http.StatusOK, "login", "login.title", nil, loginPage{Next: next})
}

// login signs a user in. Whatever fails — unknown address, wrong password,
// deactivated organisation — the answer and the time it takes are the same,
// so nobody learns whether an account exists. Failures are counted per
// address and per IP; after five, each attempt waits longer.
func (s *Server) login(c *echo.Context) error {
	ctx := c.Request().Context()
	f := s.newForm(c, loginLabels)
	next := safeNext(f.Values.Get("next"))
	email := strings.TrimSpace(f.Values.Get("email"))
	if norm, err := account.NormalizeEmail(email); err == nil {
		email = norm
	}
	password := f.Values.Get("password")
	ip := clientIP(c)
	keys := []string{"email:" + strings.ToLower(email), "ip:" + ip}
	now := s.now()

	wait, err := s.store.LoginLockedFor(ctx, keys, now)
	if err != nil {
		return err
	}
	if wait > 0 {
		_ = s.store.RecordEvent(ctx, postgres.Event{Kind: postgres.EventLoginThrottled, IP: ip, Detail: email})
		f.Message = s.cat.T(langOf(c), "error.login_throttled", map[string]string{"minutes": minutes(wait)})
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		return s.renderForm(c, http.StatusTooManyRequests, "login", "login.title", f, loginPage{Next: next})
	}

	u, err := s.store.UserByEmail(ctx, email)
	ok := false
	switch {
	case err == nil:
		var rehash bool
		ok, rehash, err = account.VerifyPassword(password, u.PasswordHash, s.argon2)
		if err != nil {
			s.logFor(c).Error("stored password hash unreadable", "user", u.ID, "error", err.Error())
			ok = false
		}
		ok = ok && u.OrgActive
		if ok && rehash {
			if h, herr := account.HashPassword(password, s.argon2); herr == nil {
				_ = s.store.RehashPassword(ctx, u.ID, h)
			}
		}
	case berriz.KindOf(err) == berriz.NotFound:
		account.DummyVerify(password, s.argon2)
	default:
		return err
	}
	if !ok {
		locked, rerr := s.store.RecordLoginFailure(ctx, keys, now, postgres.DefaultThrottle)
		if rerr != nil {
			return rerr
		}
		_ = s.store.RecordEvent(ctx, postgres.Event{Kind: postgres.EventLoginFailed, IP: ip, Detail: email, SubjectUserID: u.ID})
		f.Message = s.cat.T(langOf(c), "error.login_failed", nil)
		status := http.StatusUnauthorized
		if locked > 0 {
			f.Message = s.cat.T(langOf(c), "error.login_throttled", map[string]string{"minutes": minutes(locked)})
			c.Response().Header().Set("Retry-After", fmt.Sprint(int(locked.Seconds())+1))
			status = http.StatusTooManyRequests
		}
		return s.renderForm(c, status, "login", "login.title", f, loginPage{Next: next})
	}
	if err := s.store.ResetLoginFailures(ctx, keys[0]); err != nil {
		return err
	}
	if err := s.startSession(c, u.ID); err != nil {
		return err
	}
	// A language the person picked on this visit wins; otherwise the one of
	// their profile does.
	lang := langOf(c)
	if pref, ok := i18n.Parse(u.Lang); ok && !langChosen(c) {
		lang = pref
		s.setCookie(c, langCookie, string(lang), 365*24*time.Hour)
	}
	return c.Redirect(http.StatusSeeOther, orDefault(next, localURL(lang, "/account")))
}

func minutes(d time.Duration) string {
	return fmt.Sprint(max(1, int((d+time.Minute-1)/time.Minute)))
}

func (s *Server) logout(c *echo.Context) error {
	p := principalOf(c)
	if p != nil && p.SessionID != nil {
		if err := s.store.DeleteSession(c.Request().Context(), p.SessionID, p, clientIP(c)); err != nil {
			return err
		}
	}
	s.setCookie(c, sessionCookie, "", -1)
	s.rotateCSRF(c)
	s.SetFlash(c, "success", "flash.signed_out")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/"))
}

var forgotLabels = map[string]string{"email": "login.email"}

func (s *Server) forgotForm(c *echo.Context) error {
	return s.renderForm(c, http.StatusOK, "forgot", "forgot.title", nil, nil)
}

// forgot sends a reset link when the address has an account, and answers
// the same either way. Requests count against the same throttle as
// sign-ins, so the form cannot be used to flood a mailbox.
func (s *Server) forgot(c *echo.Context) error {
	ctx := c.Request().Context()
	f := s.newForm(c, forgotLabels)
	email, err := account.NormalizeEmail(f.Values.Get("email"))
	if err != nil {
		f.Errors["email"] = s.cat.T(langOf(c), berriz.As(err).Message, nil)
		return s.renderForm(c, http.StatusBadRequest, "forgot", "forgot.title", f, nil)
	}
	now := s.now()
	keys := []string{"reset:" + strings.ToLower(email), "reset-ip:" + clientIP(c)}
	if wait, err := s.store.LoginLockedFor(ctx, keys, now); err != nil {
		return err
	} else if wait > 0 {
		f.Message = s.cat.T(langOf(c), "error.login_throttled", map[string]string{"minutes": minutes(wait)})
		return s.renderForm(c, http.StatusTooManyRequests, "forgot", "forgot.title", f, nil)
	}
	if _, err := s.store.RecordLoginFailure(ctx, keys, now, postgres.DefaultThrottle); err != nil {
		return err
	}
	u, err := s.store.UserByEmail(ctx, email)
	switch {
	case err == nil && u.OrgActive:
		plain, hash := account.NewToken()
		if err := s.store.CreatePasswordReset(ctx, u.ID, hash, now.Add(s.cfg.ResetLifetime), clientIP(c)); err != nil {
			return err
		}
		lang, _ := i18n.Parse(u.Lang)
		link := s.absoluteURL(localURL(lang, "/password/reset/"+plain))
		// A reset link is never shown on screen: only the mailbox owner may
		// see it. Without SMTP it is in the server log.
		if _, err := s.send(c, lang, u.Email, "mail.reset", map[string]string{"link": link, "hours": hours(s.cfg.ResetLifetime)}); err != nil {
			return err
		}
	case err != nil && berriz.KindOf(err) != berriz.NotFound:
		return err
	}
	s.SetFlash(c, "info", "flash.reset_sent")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/login"))
}

var resetLabels = map[string]string{"password": "account.new_password", "password_confirm": "account.confirm_password"}

type resetPage struct{ Email string }

func (s *Server) resetForm(c *echo.Context) error {
	u, err := s.resetUser(c)
	if err != nil {
		return err
	}
	return s.renderForm(c, http.StatusOK, "reset", "reset.title", nil, resetPage{Email: u.Email})
}

func (s *Server) resetUser(c *echo.Context) (account.User, error) {
	tok := c.Param("token")
	if !account.ValidTokenShape(tok) {
		return account.User{}, berriz.E(berriz.NotFound, "error.reset_invalid")
	}
	return s.store.PasswordResetUser(c.Request().Context(), account.HashToken(tok), s.now())
}

func (s *Server) reset(c *echo.Context) error {
	u, err := s.resetUser(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, resetLabels)
	hash, ok, err := s.newPassword(c, f, u.Email)
	if err != nil {
		return err
	}
	if !ok {
		return s.renderForm(c, http.StatusBadRequest, "reset", "reset.title", f, resetPage{Email: u.Email})
	}
	if _, err := s.store.ResetPassword(c.Request().Context(), account.HashToken(c.Param("token")), hash, s.now(), clientIP(c)); err != nil {
		return err
	}
	s.SetFlash(c, "success", "flash.password_reset")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/login"))
}

// newPassword checks the "password" and "password_confirm" fields against
// the policy and hashes the password; ok is false when the form shows
// errors.
func (s *Server) newPassword(c *echo.Context, f *Form, email string) (hash string, ok bool, err error) {
	pw := f.Values.Get("password")
	if perr := account.CheckPasswordPolicy(pw, email); perr != nil {
		f.Errors["password"] = s.cat.T(langOf(c), berriz.As(perr).Message, nil)
	} else if pw != f.Values.Get("password_confirm") {
		f.Errors["password_confirm"] = s.cat.T(langOf(c), "error.password_mismatch", nil)
	}
	if len(f.Errors) > 0 {
		return "", false, nil
	}
	hash, err = account.HashPassword(pw, s.argon2)
	return hash, err == nil, err
}

var acceptLabels = map[string]string{"name": "account.name", "password": "account.new_password", "password_confirm": "account.confirm_password"}

type acceptPage struct{ Invitation postgres.Invitation }

func (s *Server) invitation(c *echo.Context) (postgres.Invitation, error) {
	tok := c.Param("token")
	if !account.ValidTokenShape(tok) {
		return postgres.Invitation{}, berriz.E(berriz.NotFound, "error.invitation_invalid")
	}
	return s.store.InvitationByToken(c.Request().Context(), account.HashToken(tok), s.now())
}

func (s *Server) acceptForm(c *echo.Context) error {
	inv, err := s.invitation(c)
	if err != nil {
		return err
	}
	return s.renderForm(c, http.StatusOK, "accept", "accept.title", nil, acceptPage{Invitation: inv})
}

// accept creates the invited account and signs it in.
func (s *Server) accept(c *echo.Context) error {
	inv, err := s.invitation(c)
	if err != nil {
		return err
	}
	f := s.newForm(c, acceptLabels)
	name, nerr := account.Line(f.Values.Get("name"), 200)
	if nerr != nil {
		f.Errors["name"] = s.cat.T(langOf(c), berriz.As(nerr).Message, nil)
	}
	hash, ok, err := s.newPassword(c, f, inv.Email)
	if err != nil {
		return err
	}
	if !ok || len(f.Errors) > 0 {
		return s.renderForm(c, http.StatusBadRequest, "accept", "accept.title", f, acceptPage{Invitation: inv})
	}
	u, err := s.store.AcceptInvitation(c.Request().Context(), account.HashToken(c.Param("token")), name, hash, s.now(), clientIP(c))
	if err != nil {
		if status, ok := s.failForm(c, f, err); ok {
			return s.renderForm(c, status, "accept", "accept.title", f, acceptPage{Invitation: inv})
		}
		return err
	}
	if err := s.startSession(c, u.ID); err != nil {
		return err
	}
	s.SetFlash(c, "success", "flash.welcome")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/account"))
}

// send mails a translated message; key.subject and key.body are catalog
// keys. It reports whether the message was only logged (no SMTP), in which
// case the caller may show the link to the operator.
func (s *Server) send(c *echo.Context, lang i18n.Lang, to, key string, args map[string]string) (mail.Delivery, error) {
	if lang == "" {
		lang = i18n.Default
	}
	d, err := s.mailer.Send(c.Request().Context(), mail.Message{
		To:      to,
		Subject: s.cat.T(lang, key+".subject", args),
		Text:    s.cat.T(lang, key+".body", args),
	})
	if err != nil {
		return d, fmt.Errorf("send %s to %s: %w", key, to, berriz.E(berriz.Unavailable, "error.mail_unavailable").WithCause(err))
	}
	return d, nil
}

func (s *Server) absoluteURL(path string) string { return s.cfg.PublicURL.String() + path }

func hours(d time.Duration) string { return fmt.Sprint(max(1, int(d.Hours()))) }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
