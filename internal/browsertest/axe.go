package browsertest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chromedp/chromedp"
)

// Violation is one axe-core rule that the page breaks.
type Violation struct {
	ID      string          `json:"id"`     // rule id, e.g. "image-alt"
	Impact  string          `json:"impact"` // minor, moderate, serious, critical
	Help    string          `json:"help"`
	HelpURL string          `json:"helpUrl"`
	Nodes   []ViolationNode `json:"nodes"`
}

// ViolationNode is one element that breaks the rule.
type ViolationNode struct {
	Target         []string `json:"target"` // CSS selectors; " >>> " joins the parts of a shadow DOM path
	HTML           string   `json:"html"`   // the element's opening tag, abbreviated by axe
	FailureSummary string   `json:"failureSummary"`
}

// axeTags are the rule sets of RGAA 4.1 / WCAG 2.1 AA.
const axeTags = `['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']`

// axeRunJS runs axe-core on the document and keeps what a report needs.
const axeRunJS = `axe.run(document, {
	runOnly: {type: 'tag', values: ` + axeTags + `},
	resultTypes: ['violations'],
}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
	nodes: v.nodes.map(n => ({
		target: n.target.map(x => Array.isArray(x) ? x.join(' >>> ') : String(x)),
		html: n.html, failureSummary: n.failureSummary || '',
	})),
})))`

// axeSource is axe.min.js, read once per test binary.
var axeSource struct {
	once sync.Once
	js   string
	err  error
}

func loadAxe() (string, error) {
	axeSource.once.Do(func() {
		path := os.Getenv(EnvAxe)
		if path == "" {
			root, err := moduleRoot()
			if err != nil {
				axeSource.err = err
				return
			}
			path = filepath.Join(root, ".cache", "axe", "node_modules", "axe-core", "axe.min.js")
		}
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			axeSource.err = fmt.Errorf("axe-core %s: %w", path, errMissing)
		case err != nil:
			axeSource.err = fmt.Errorf("read axe-core: %w", err)
		default:
			axeSource.js = string(b)
		}
	})
	return axeSource.js, axeSource.err
}

// moduleRoot walks up from the working directory to the directory of go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Axe runs axe-core's WCAG 2.1 A/AA rules on the current page and returns the
// violations; it does not fail the test for them (see CheckAxe). It skips the
// test when axe-core is not installed (fails when BERRIZ_TEST_REQUIRE_SERVICES=1).
//
// axe-core goes in through CDP's Runtime.evaluate, which the page's CSP does
// not govern: pages keep their strict script-src 'self'.
func (tab *Tab) Axe() []Violation {
	tab.t.Helper()
	js, err := loadAxe()
	if err != nil {
		if errors.Is(err, errMissing) {
			skipOrFatal(tab.t, err)
		}
		tab.fatalf("%v", err)
	}
	if !runValue(tab, "look for axe-core", chromedp.Evaluate[bool](`typeof window.axe === 'object'`)) {
		runValue(tab, "inject axe-core", chromedp.Evaluate[chromedp.Void](js))
	}
	return runValue(tab, "run axe-core", chromedp.Evaluate[[]Violation](axeRunJS, chromedp.EvalAwaitPromise))
}

// CheckAxe fails the test (without stopping it) when axe-core reports a
// violation, listing each rule and the elements that break it.
func (tab *Tab) CheckAxe() {
	tab.t.Helper()
	if v := tab.Axe(); len(v) > 0 {
		tab.t.Errorf("axe-core: %d violation(s) at %s:\n%s", len(v), tab.rec.currentURL(), FormatViolations(v))
	}
}

// FormatViolations renders violations one rule per paragraph, for messages.
func FormatViolations(vs []Violation) string {
	var sb strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&sb, "  - %s [%s] %s (%s)\n", v.ID, v.Impact, v.Help, v.HelpURL)
		for _, n := range v.Nodes {
			fmt.Fprintf(&sb, "      %s  %s\n", strings.Join(n.Target, ", "), n.HTML)
		}
	}
	return sb.String()
}

// CheckPage navigates to url and runs every check on the page: budgets, axe
// and console errors. It returns the report.
func (tab *Tab) CheckPage(url string) PageReport {
	tab.t.Helper()
	tab.Navigate(url)
	return tab.CheckCurrentPage()
}

// CheckCurrentPage runs every check on the page the tab shows, such as the
// page a form submission landed on: Measure, the Default budget, axe-core,
// and no console error (CSP violations, failed loads, script errors). The
// checks report with t.Errorf, so one run shows every problem of the page.
// The HTTP status is not checked (error pages have budgets too), but Chromium
// logs a 4xx/5xx document as a console error; assert r.Status yourself, and
// check an error page with Measure, CheckBudgets and CheckAxe.
func (tab *Tab) CheckCurrentPage() PageReport {
	tab.t.Helper()
	r := tab.Measure()
	tab.t.Logf("browsertest: %s", r)
	r.CheckBudgets(tab.t)
	tab.CheckAxe()
	if len(r.ConsoleErrors) > 0 {
		tab.t.Errorf("browsertest: console errors at %s:\n  %s", r.URL, strings.Join(r.ConsoleErrors, "\n  "))
	}
	return r
}
