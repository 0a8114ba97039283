package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/berriz/berriz/internal/account"
	"github.com/berriz/berriz/internal/berriz"
	"github.com/berriz/berriz/internal/i18n"
	"github.com/berriz/berriz/internal/postgres"
	"github.com/labstack/echo/v5"
)

// accountRoutes are the screens every signed-in person has for itself:
// profile, password, personal data export, account deletion, API tokens.
func (s *Server) accountRoutes() []Route {
	return []Route{
		{http.MethodGet, "/account", "account", UserOnly, s.accountShow},
		{http.MethodPost, "/account", "account_update", UserOnly, s.accountUpdate},
		{http.MethodGet, "/account/password", "account_password_form", UserOnly, s.accountPasswordForm},
		{http.MethodPost, "/account/password", "account_password", UserOnly, s.accountPassword},
		{http.MethodGet, "/account/export", "account_export", UserOnly, s.accountExport},
		{http.MethodGet, "/account/delete", "account_delete_form", UserOnly, s.accountDeleteForm},
		{http.MethodPost, "/account/delete", "account_delete", UserOnly, s.accountDelete},
		{http.MethodGet, "/account/tokens", "account_tokens", UserOnly, s.accountTokens},
		{http.MethodPost, "/account/tokens", "account_token_create", Session, s.accountTokenCreate},
		{http.MethodPost, "/account/tokens/:id/revoke", "account_token_revoke", UserOnly, s.accountTokenRevoke},
	}
}

var accountProfileLabels = map[string]string{"name": "account.name", "lang": "account.language"}

// accountView is the profile page: the user and its figures already put in
// words for the page's language.
type accountView struct {
	User      account.User
	RoleKey   string
	Since     string
	LastLogin string
	// Notifications is the section about e-mails (pages_notifications.go).
	Notifications notificationSection
}

func (s *Server) accountView(c *echo.Context) (accountView, error) {
	u, err := s.store.User(c.Request().Context(), principalOf(c).UserID, 0)
	if err != nil {
		return accountView{}, err
	}
	n, err := s.notificationSection(c)
	if err != nil {
		return accountView{}, err
	}
	lang := langOf(c)
	return accountView{User: u, RoleKey: "account.role." + string(u.Role()), Since: accountDate(lang, u.CreatedAt),
		LastLogin: accountDateOr(lang, u.LastLoginAt, s.cat.T(lang, "account.never", nil)), Notifications: n}, nil
}

func (s *Server) accountShow(c *echo.Context) error {
	v, err := s.accountView(c)
	if err != nil {
		return err
	}
	// The form starts from the stored profile; it carries no errors.
	f := &Form{Values: url.Values{"name": {v.User.Name}, "lang": {v.User.Lang}}, Errors: map[string]string{}}
	return s.renderForm(c, http.StatusOK, "account", "account.title", f, v)
}

// accountUpdate changes the person's name and language, then shows the
// profile in the language just chosen.
func (s *Server) accountUpdate(c *echo.Context) error {
	p := principalOf(c)
	f := s.newForm(c, accountProfileLabels)
	name, nerr := account.Line(f.Values.Get("name"), 200)
	if nerr != nil {
		f.Errors["name"] = s.cat.T(langOf(c), berriz.As(nerr).Message, nil)
	}
	lang, ok := i18n.Parse(f.Values.Get("lang"))
	if !ok {
		f.Errors["lang"] = s.cat.T(langOf(c), "error.lang", nil)
	}
	if len(f.Errors) > 0 {
		v, err := s.accountView(c)
		if err != nil {
			return err
		}
		return s.renderForm(c, http.StatusBadRequest, "account", "account.title", f, v)
	}
	if err := s.store.UpdateProfile(c.Request().Context(), p.UserID, name, string(lang)); err != nil {
		return err
	}
	s.SetFlash(c, "success", "account.flash.saved")
	// An explicit prefix, even for French: it also replaces the remembered
	// language, as the language switch does.
	return c.Redirect(http.StatusSeeOther, "/"+string(lang)+"/account")
}

var accountPasswordLabels = map[string]string{
	"current_password": "account.current_password", "password": "account.new_password",
	"password_confirm": "account.confirm_password",
}

func (s *Server) accountPasswordForm(c *echo.Context) error {
	return s.renderForm(c, http.StatusOK, "account_password", "account.password.title", nil, nil)
}

// accountPassword changes the password. The session that changed it stays
// open; every other one ends, in case the old password had leaked.
func (s *Server) accountPassword(c *echo.Context) error {
	p := principalOf(c)
	ctx := c.Request().Context()
	u, err := s.store.User(ctx, p.UserID, 0)
	if err != nil {
		return err
	}
	f := s.newForm(c, accountPasswordLabels)
	status, err := s.accountReauth(c, f, "current_password", u)
	if err != nil {
		return err
	}
	if status == http.StatusTooManyRequests {
		return s.renderForm(c, status, "account_password", "account.password.title", f, nil)
	}
	// The new password is checked even when the current one is wrong, so
	// that every mistake shows at once; it is hashed only when all is well.
	hash, ok, err := s.newPassword(c, f, u.Email)
	if err != nil {
		return err
	}
	if !ok {
		return s.renderForm(c, http.StatusBadRequest, "account_password", "account.password.title", f, nil)
	}
	if err := s.store.SetPassword(ctx, u.ID, hash, p.SessionID, p, clientIP(c)); err != nil {
		return err
	}
	s.SetFlash(c, "success", "account.flash.password_changed")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/account"))
}

// accountReauth checks the password typed again before a sensitive change.
// Mistakes count against the sign-in throttle of the address, so a session
// left open cannot be used to guess the password. It returns 0 when the
// password is right, or the status to re-render the form with (the form
// then carries the error).
func (s *Server) accountReauth(c *echo.Context, f *Form, field string, u account.User) (int, error) {
	ctx := c.Request().Context()
	lang := langOf(c)
	keys := []string{"email:" + strings.ToLower(u.Email)}
	now := s.now()
	wait, err := s.store.LoginLockedFor(ctx, keys, now)
	if err != nil {
		return 0, err
	}
	if wait > 0 {
		f.Message = s.cat.T(lang, "error.login_throttled", map[string]string{"minutes": minutes(wait)})
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		return http.StatusTooManyRequests, nil
	}
	ok, _, err := account.VerifyPassword(f.Values.Get(field), u.PasswordHash, s.argon2)
	if err != nil {
		return 0, err
	}
	if !ok {
		locked, err := s.store.RecordLoginFailure(ctx, keys, now, postgres.DefaultThrottle)
		if err != nil {
			return 0, err
		}
		f.Errors[field] = s.cat.T(lang, "account.error.wrong_password", nil)
		if locked > 0 {
			f.Message = s.cat.T(lang, "error.login_throttled", map[string]string{"minutes": minutes(locked)})
		}
		return http.StatusBadRequest, nil
	}
	return 0, s.store.ResetLoginFailures(ctx, keys[0])
}

// accountExport is the right of access and portability (GDPR articles 15
// and 20): everything berriz keeps about the person, as JSON. The password
// hash is never part of it.
type accountExport struct {
	ExportedAt   time.Time              `json:"exported_at"`
	Profile      accountExportProfile   `json:"profile"`
	Organisation accountExportOrg       `json:"organisation"`
	Sessions     []postgres.SessionInfo `json:"sessions"`
	Tokens       []accountExportToken   `json:"api_tokens"`
}

type accountExportProfile struct {
	ID          int64      `json:"id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	Lang        string     `json:"lang"`
	OrgAdmin    bool       `json:"org_admin"`
	Role        string     `json:"role"`
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

type accountExportOrg struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type accountExportToken struct {
	Name       string     `json:"name"`
	Scope      string     `json:"scope"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func (s *Server) accountExport(c *echo.Context) error {
	p := principalOf(c)
	ctx := c.Request().Context()
	now := s.now()
	u, err := s.store.User(ctx, p.UserID, 0)
	if err != nil {
		return err
	}
	sessions, err := s.store.Sessions(ctx, u.ID, now)
	if err != nil {
		return err
	}
	tokens, err := s.store.ListTokens(ctx, postgres.TokenFilter{UserID: u.ID})
	if err != nil {
		return err
	}
	out := accountExport{
		ExportedAt: now.UTC(),
		Profile: accountExportProfile{ID: u.ID, Email: u.Email, Name: u.Name, Lang: u.Lang, OrgAdmin: u.OrgAdmin,
			Role: string(u.Role()), CreatedAt: u.CreatedAt, LastLoginAt: u.LastLoginAt},
		Organisation: accountExportOrg{ID: u.OrgID, Name: u.OrgName, Kind: string(u.OrgKind)},
		Sessions:     sessions,
		Tokens:       make([]accountExportToken, 0, len(tokens)),
	}
	if out.Sessions == nil {
		out.Sessions = []postgres.SessionInfo{}
	}
	for _, t := range tokens {
		out.Tokens = append(out.Tokens, accountExportToken{Name: t.Name, Scope: t.Scope, Prefix: t.Prefix,
			CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt})
	}
	body, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("export user %d: %w", u.ID, err)
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="berriz-export-`+now.In(accountZone()).Format("2006-01-02")+`.json"`)
	h.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/json; charset=utf-8", append(body, '\n'))
}

var accountDeleteLabels = map[string]string{"password": "account.delete.password"}

func (s *Server) accountDeleteForm(c *echo.Context) error {
	return s.renderForm(c, http.StatusOK, "account_delete", "account.delete.title", nil, nil)
}

// accountDelete deletes the person's own account once the password is typed
// again, then signs the browser out.
func (s *Server) accountDelete(c *echo.Context) error {
	p := principalOf(c)
	ctx := c.Request().Context()
	u, err := s.store.User(ctx, p.UserID, 0)
	if err != nil {
		return err
	}
	f := s.newForm(c, accountDeleteLabels)
	status, err := s.accountReauth(c, f, "password", u)
	if err != nil {
		return err
	}
	if status != 0 {
		return s.renderForm(c, status, "account_delete", "account.delete.title", f, nil)
	}
	if err := s.store.DeleteUser(ctx, u.ID, 0, p, clientIP(c)); err != nil {
		// The last operator, or the last admin of an organisation with
		// members, must hand over first: the store says so.
		if status, ok := s.failForm(c, f, err); ok {
			return s.renderForm(c, status, "account_delete", "account.delete.title", f, nil)
		}
		return err
	}
	s.setCookie(c, sessionCookie, "", -1)
	s.rotateCSRF(c)
	s.SetFlash(c, "success", "account.flash.deleted")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/"))
}

var accountTokenLabels = map[string]string{"name": "account.tokens.name", "scope": "account.tokens.scope"}

// accountTokensView is the tokens page: one page of live tokens and, right
// after creating one, its secret.
type accountTokensView struct {
	Tokens []accountTokenRow
	Pager  Pager
	Total  int
	Issued *Issued
}

type accountTokenRow struct {
	postgres.Token
	ScopeKey string
	Created  string
	LastUsed string
}

func (s *Server) accountTokensView(c *echo.Context, issued *Issued) (accountTokensView, error) {
	p := principalOf(c)
	all, err := s.store.ListTokens(c.Request().Context(), postgres.TokenFilter{UserID: p.UserID})
	if err != nil {
		return accountTokensView{}, err
	}
	// The store lists at most 200 live tokens; the page shows them 25 at a
	// time to stay within the DOM budget.
	page := postgres.Page{Number: pageParam(c), Total: len(all)}
	if issued != nil || page.Number > page.Pages() {
		page.Number = 1
	}
	lang := langOf(c)
	v := accountTokensView{Total: len(all), Issued: issued,
		Pager: Pager{Number: page.Number, Pages: page.Pages(), path: localURL(lang, "/account/tokens"), query: url.Values{}}}
	never := s.cat.T(lang, "account.never", nil)
	for _, t := range pageItems(all, page) {
		v.Tokens = append(v.Tokens, accountTokenRow{Token: t, ScopeKey: "account.tokens.scope." + t.Scope,
			Created: accountDate(lang, t.CreatedAt), LastUsed: accountDateOr(lang, t.LastUsedAt, never)})
	}
	return v, nil
}

func (s *Server) accountTokens(c *echo.Context) error {
	v, err := s.accountTokensView(c, nil)
	if err != nil {
		return err
	}
	return s.renderForm(c, http.StatusOK, "account_tokens", "account.tokens.title", nil, v)
}

// accountTokenCreate issues a token and shows its secret on the answer
// itself, once: it is not stored, so no later page could show it again.
func (s *Server) accountTokenCreate(c *echo.Context) error {
	f := s.newForm(c, accountTokenLabels)
	issued, err := s.issueToken(c, TokenInput{Name: f.Values.Get("name"), Scope: f.Values.Get("scope")})
	if err != nil {
		status, ok := s.failForm(c, f, err)
		if !ok {
			return err
		}
		v, verr := s.accountTokensView(c, nil)
		if verr != nil {
			return verr
		}
		return s.renderForm(c, status, "account_tokens", "account.tokens.title", f, v)
	}
	v, err := s.accountTokensView(c, &issued)
	if err != nil {
		return err
	}
	// The secret must not linger in any cache.
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.renderForm(c, http.StatusOK, "account_tokens", "account.tokens.title", nil, v)
}

func (s *Server) accountTokenRevoke(c *echo.Context) error {
	p := principalOf(c)
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.store.RevokeToken(c.Request().Context(), id, p.UserID, false, p, clientIP(c)); err != nil {
		return err
	}
	s.SetFlash(c, "success", "account.flash.token_revoked")
	return c.Redirect(http.StatusSeeOther, localURL(langOf(c), "/account/tokens"))
}

// accountZone is the time zone dates are shown in: berriz serves the French
// Basque Country. Without tzdata on the host, dates fall back to UTC.
var accountZone = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Paris"); err == nil {
		return loc
	}
	return time.UTC
})

// accountDateLayouts write dates as each language usually does, in figures
// only so that nothing needs translating.
var accountDateLayouts = map[i18n.Lang]string{
	i18n.FR: "02/01/2006 15:04",
	i18n.EU: "2006/01/02 15:04",
	i18n.EN: "2 Jan 2006 15:04",
}

func accountDate(lang i18n.Lang, t time.Time) string {
	layout, ok := accountDateLayouts[lang]
	if !ok {
		layout = accountDateLayouts[i18n.Default]
	}
	return t.In(accountZone()).Format(layout)
}

func accountDateOr(lang i18n.Lang, t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return accountDate(lang, *t)
}
