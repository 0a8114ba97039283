// Package i18n owns berriz's languages: French (the default), Basque and
// English. It loads one JSON catalog per language, checks that they hold the
// same keys with the same placeholders, fills {placeholders}, and picks a
// language from an Accept-Language header.
package i18n

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Lang is a supported language code.
type Lang string

// The supported languages; Default is used when nothing else decides.
const (
	FR      Lang = "fr"
	EU      Lang = "eu"
	EN      Lang = "en"
	Default      = FR
)

// Langs lists the supported languages in the order of the language switch.
var Langs = []Lang{FR, EU, EN}

// Name is the language's own name, shown in the switch.
func (l Lang) Name() string {
	switch l {
	case EU:
		return "Euskara"
	case EN:
		return "English"
	}
	return "Français"
}

// Parse returns the supported language named by s (case-insensitive, region
// ignored: "eu-ES" is Basque).
func Parse(s string) (Lang, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		s = s[:i]
	}
	for _, l := range Langs {
		if string(l) == s {
			return l, true
		}
	}
	return "", false
}

// Catalogs holds every language's messages.
type Catalogs struct {
	msgs map[Lang]map[string]string
}

var placeholderRE = regexp.MustCompile(`\{[a-z_][a-z0-9_]*\}`)

// Load reads every <lang>/*.json file of fsys for each supported language
// (one file per area of the product, so that areas can grow side by side)
// and checks that the catalogs agree: same keys, same placeholders, no empty
// message, no key defined twice.
func Load(fsys fs.FS) (*Catalogs, error) {
	c := &Catalogs{msgs: map[Lang]map[string]string{}}
	for _, l := range Langs {
		files, err := fs.Glob(fsys, string(l)+"/*.json")
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", l, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("catalog %s: no %s/*.json file", l, l)
		}
		m := map[string]string{}
		for _, f := range files {
			b, err := fs.ReadFile(fsys, f)
			if err != nil {
				return nil, fmt.Errorf("catalog %s: %w", f, err)
			}
			part := map[string]string{}
			if err := json.Unmarshal(b, &part); err != nil {
				return nil, fmt.Errorf("catalog %s: %w", f, err)
			}
			for k, v := range part {
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("catalog %s: %q is defined twice", f, k)
				}
				m[k] = v
			}
		}
		c.msgs[l] = m
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Catalogs) check() error {
	var errs []error
	ref := c.msgs[Default]
	for _, l := range Langs {
		m := c.msgs[l]
		for k, v := range m {
			if strings.TrimSpace(v) == "" {
				errs = append(errs, fmt.Errorf("%s: %q is empty", l, k))
			}
			rv, ok := ref[k]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: %q is not in the %s catalog", l, k, Default))
				continue
			}
			if a, b := placeholders(v), placeholders(rv); a != b {
				errs = append(errs, fmt.Errorf("%s: %q has placeholders %s, %s has %s", l, k, a, Default, b))
			}
		}
		for k := range ref {
			if _, ok := m[k]; !ok {
				errs = append(errs, fmt.Errorf("%s: %q is missing", l, k))
			}
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

func placeholders(s string) string {
	p := placeholderRE.FindAllString(s, -1)
	sort.Strings(p)
	return strings.Join(p, ",")
}

// Has reports whether key exists (in every catalog, since they agree).
func (c *Catalogs) Has(key string) bool {
	_, ok := c.msgs[Default][key]
	return ok
}

// Keys returns every key, sorted.
func (c *Catalogs) Keys() []string {
	keys := make([]string, 0, len(c.msgs[Default]))
	for k := range c.msgs[Default] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// T translates key into lang, filling {name} placeholders from args. An
// unknown key comes back as itself so a missing translation is visible
// rather than blank; tests keep every used key in the catalogs.
func (c *Catalogs) T(lang Lang, key string, args map[string]string) string {
	m, ok := c.msgs[lang]
	if !ok {
		m = c.msgs[Default]
	}
	s, ok := m[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return s
	}
	return placeholderRE.ReplaceAllStringFunc(s, func(p string) string {
		if v, ok := args[p[1:len(p)-1]]; ok {
			return v
		}
		return p
	})
}

// Negotiate picks the supported language the Accept-Language header prefers
// most, or ok=false when it names none of them.
func Negotiate(header string) (lang Lang, ok bool) {
	best := -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if params != "" {
			k, v, found := strings.Cut(strings.TrimSpace(params), "=")
			if found && strings.TrimSpace(k) == "q" {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					continue
				}
				q = f
			}
		}
		l, supported := Parse(tag)
		if !supported || q <= 0 {
			continue
		}
		if q > best {
			best, lang, ok = q, l, true
		}
	}
	return lang, ok
}
