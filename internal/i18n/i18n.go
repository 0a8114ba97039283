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
	msgs map[Lang]map[string]message
}

// message is one catalog entry, split at load time into the literal text
// between its {placeholders} and their names, so that T fills it with a
// map lookup and a join instead of a regular expression per call (pages
// call T some sixty times each: docs/benchmarks.md).
type message struct {
	text string    // the message as written
	segs []segment // nil when the message has no placeholder
}

// segment is a literal text followed by a placeholder's name ("" for the
// last segment).
type segment struct {
	lit, name string
}

// parseMessage splits s at its placeholders.
func parseMessage(s string) message {
	m := message{text: s}
	locs := placeholderRE.FindAllStringIndex(s, -1)
	if len(locs) == 0 {
		return m
	}
	m.segs = make([]segment, 0, len(locs)+1)
	last := 0
	for _, l := range locs {
		m.segs = append(m.segs, segment{lit: s[last:l[0]], name: s[l[0]+1 : l[1]-1]})
		last = l[1]
	}
	m.segs = append(m.segs, segment{lit: s[last:]})
	return m
}

var placeholderRE = regexp.MustCompile(`\{[a-z_][a-z0-9_]*\}`)

// Load reads every <lang>/*.json file of fsys for each supported language
// (one file per area of the product, so that areas can grow side by side)
// and checks that the catalogs agree: same keys, same placeholders, no empty
// message, no key defined twice.
func Load(fsys fs.FS) (*Catalogs, error) {
	c := &Catalogs{msgs: map[Lang]map[string]message{}}
	for _, l := range Langs {
		files, err := fs.Glob(fsys, string(l)+"/*.json")
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", l, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("catalog %s: no %s/*.json file", l, l)
		}
		m := map[string]message{}
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
				m[k] = parseMessage(v)
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
		for k, msg := range m {
			v := msg.text
			if strings.TrimSpace(v) == "" {
				errs = append(errs, fmt.Errorf("%s: %q is empty", l, k))
			}
			rv, ok := ref[k]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: %q is not in the %s catalog", l, k, Default))
				continue
			}
			if a, b := placeholders(v), placeholders(rv.text); a != b {
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
	msg, ok := m[key]
	if !ok {
		return key
	}
	if len(args) == 0 || msg.segs == nil {
		return msg.text
	}
	var b strings.Builder
	b.Grow(len(msg.text) + 16*len(msg.segs))
	for _, sg := range msg.segs {
		b.WriteString(sg.lit)
		if sg.name == "" {
			continue
		}
		if v, ok := args[sg.name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString("{" + sg.name + "}") // left as written, visible
		}
	}
	return b.String()
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
