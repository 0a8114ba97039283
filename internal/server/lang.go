package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/i18n"
	"github.com/labstack/echo/v5"
)

const (
	langCookie = "berriz_lang"
	ctxLang    = "berriz.lang"
	ctxChosen  = "berriz.lang_chosen" // the visitor chose the language (prefix or cookie)
	ctxPath    = "berriz.path"        // the path as requested, before the prefix is stripped
)

// language picks the request's language before routing: a /eu/, /en/ or /fr/
// prefix wins (and is remembered in a cookie, then stripped so one route
// serves every language); otherwise the cookie; otherwise Accept-Language on
// a first visit; otherwise French.
func (s *Server) language(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		c.Set(ctxPath, r.URL.Path)
		lang, fromPrefix := stripLangPrefix(r)
		if fromPrefix && r.URL.Path == "" {
			// "/eu" alone: send to "/eu/" so relative URLs resolve.
			return c.Redirect(http.StatusMovedPermanently, "/"+string(lang)+"/")
		}
		remember := fromPrefix
		chosen := fromPrefix
		if !fromPrefix {
			if ck, err := r.Cookie(langCookie); err == nil {
				lang, _ = i18n.Parse(ck.Value)
				chosen = lang != ""
			}
			if lang == "" {
				var ok bool
				if lang, ok = i18n.Negotiate(r.Header.Get("Accept-Language")); !ok {
					lang = i18n.Default
				}
				remember = r.Header.Get("Accept-Language") != ""
			}
		}
		if remember {
			if ck, err := r.Cookie(langCookie); err != nil || ck.Value != string(lang) {
				s.setCookie(c, langCookie, string(lang), 365*24*time.Hour)
			}
		}
		c.Set(ctxLang, lang)
		c.Set(ctxChosen, chosen)
		c.Response().Header().Add("Vary", "Cookie, Accept-Language")
		return next(c)
	}
}

// stripLangPrefix removes a language prefix from the request path. The
// prefix must be a whole segment: "/eus" is not Basque.
func stripLangPrefix(r *http.Request) (i18n.Lang, bool) {
	p := r.URL.Path
	for _, l := range i18n.Langs {
		prefix := "/" + string(l)
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			r.URL.Path = strings.TrimPrefix(p, prefix)
			if r.URL.RawPath != "" {
				r.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, prefix)
			}
			if r.URL.Path == "" && p == prefix+"/" {
				r.URL.Path = "/"
			}
			return l, true
		}
	}
	return "", false
}

// langChosen reports whether the visitor picked the request's language
// (URL prefix or remembered choice) rather than the browser's defaults.
func langChosen(c *echo.Context) bool { b, _ := c.Get(ctxChosen).(bool); return b }

func langOf(c *echo.Context) i18n.Lang {
	if l, ok := c.Get(ctxLang).(i18n.Lang); ok {
		return l
	}
	return i18n.Default
}

// localURL prefixes an absolute path with the language, French (the
// default) being unprefixed.
func localURL(lang i18n.Lang, p string) string {
	if lang == i18n.Default {
		return p
	}
	return "/" + string(lang) + p
}

// setCookie sets an HttpOnly, SameSite=Lax cookie, Secure when the site is
// served over HTTPS. maxAge > 0 keeps it that long, 0 makes a session
// cookie, < 0 deletes it.
func (s *Server) setCookie(c *echo.Context, name, value string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.cfg.Secure(),
		SameSite: http.SameSiteLaxMode,
	}
	switch {
	case maxAge > 0:
		ck.MaxAge = int(maxAge.Seconds())
	case maxAge < 0:
		ck.MaxAge = -1 // delete now
	}
	c.SetCookie(ck)
}
