package browsertest

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// PageReport is what one page cost, from the start of its navigation (Navigate,
// or the Click that led to it) to network idle after a scroll to the bottom,
// with the browser cache disabled.
type PageReport struct {
	URL      string // main document URL (after redirects)
	Status   int    // main document HTTP status
	Requests int    // network requests, the document and each redirect hop included; data: and blob: URLs excluded
	// Bytes is the sum of encodedDataLength over the requests: bytes on the
	// wire, headers included, as CDP reports them.
	Bytes         int64
	DOMElements   int      // elements in the document, those inside <svg> not counted (the <svg> itself counts once)
	Domains       []string // distinct hosts (host:port) requested, sorted
	Fonts         int      // requests of resource type Font
	ConsoleErrors []string // console errors, uncaught exceptions, browser log errors (CSP violations, failed loads)
	Resources     []Resource
}

// Resource is one request of a page, for diagnostics.
type Resource struct {
	URL    string
	Type   string // CDP resource type: Document, Stylesheet, Script, Image, Font...
	Status int
	Bytes  int64
	Failed string // network error text, if the request failed
}

// Budget is a per-screen limit set. Default holds ECODESIGN.md's figures.
type Budget struct {
	MaxBytes       int64
	MaxRequests    int
	MaxDOMElements int
	MaxDomains     int
	MaxFonts       int
}

// Default is the budget of every berriz screen (ECODESIGN.md). 150 KB is read
// as 150 KiB, 153 600 bytes.
var Default = Budget{
	MaxBytes:       150 * 1024,
	MaxRequests:    10,
	MaxDOMElements: 300,
	MaxDomains:     1,
	MaxFonts:       0,
}

// Problems lists every figure of r that exceeds b, one line each; nil when r
// fits. It is pure, so tests can assert on a failing budget.
func (b Budget) Problems(r PageReport) []string {
	var p []string
	if r.Bytes > b.MaxBytes {
		p = append(p, fmt.Sprintf("bytes: %d (%.1f KiB) > %d (%.1f KiB)",
			r.Bytes, float64(r.Bytes)/1024, b.MaxBytes, float64(b.MaxBytes)/1024))
	}
	if r.Requests > b.MaxRequests {
		p = append(p, fmt.Sprintf("requests: %d > %d", r.Requests, b.MaxRequests))
	}
	if r.DOMElements > b.MaxDOMElements {
		p = append(p, fmt.Sprintf("DOM elements: %d > %d", r.DOMElements, b.MaxDOMElements))
	}
	if len(r.Domains) > b.MaxDomains {
		p = append(p, fmt.Sprintf("domains: %d > %d (%s)", len(r.Domains), b.MaxDomains, strings.Join(r.Domains, ", ")))
	}
	if r.Fonts > b.MaxFonts {
		p = append(p, fmt.Sprintf("web fonts: %d > %d", r.Fonts, b.MaxFonts))
	}
	return p
}

// Check fails the test, listing every exceeded figure and the page's
// requests, when r does not fit b.
func (b Budget) Check(t testing.TB, r PageReport) {
	t.Helper()
	if p := b.Problems(r); len(p) > 0 {
		t.Errorf("page budget exceeded on %s:\n  %s\n%s", r.URL, strings.Join(p, "\n  "), r.resourceTable())
	}
}

// CheckBudgets checks r against the Default budget.
func (r PageReport) CheckBudgets(t testing.TB) {
	t.Helper()
	Default.Check(t, r)
}

// String summarises the report on one line, for logs.
func (r PageReport) String() string {
	return fmt.Sprintf("%s: status %d, %d requests, %.1f KiB, %d DOM elements, domains %v, %d fonts, %d console errors",
		r.URL, r.Status, r.Requests, float64(r.Bytes)/1024, r.DOMElements, r.Domains, r.Fonts, len(r.ConsoleErrors))
}

// resourceTable lists the requests, largest first.
func (r PageReport) resourceTable() string {
	res := append([]Resource(nil), r.Resources...)
	sort.SliceStable(res, func(i, j int) bool { return res[i].Bytes > res[j].Bytes })
	var sb strings.Builder
	sb.WriteString("requests (largest first):\n")
	for _, x := range res {
		fmt.Fprintf(&sb, "  %8d B  %3d  %-10s %s", x.Bytes, x.Status, x.Type, x.URL)
		if x.Failed != "" {
			fmt.Fprintf(&sb, "  [failed: %s]", x.Failed)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// networkQuiet is how long no request may be in flight before the page
// counts as loaded.
const networkQuiet = 300 * time.Millisecond

// domCountJS counts elements, those inside an <svg> excepted: an inline icon
// is one element however many paths it draws.
const domCountJS = `document.getElementsByTagName('*').length - document.querySelectorAll('svg *').length`

// Measure reports the current page: it scrolls to the bottom (to trigger lazy
// loading), waits for network idle, then counts. The figures cover everything
// loaded since the last main-frame navigation.
func (tab *Tab) Measure() PageReport {
	tab.t.Helper()
	tab.Run(chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.documentElement.scrollHeight)`))
	tab.waitIdle()
	n := runValue(tab, "count DOM elements", chromedp.Evaluate[int](domCountJS))
	r := tab.rec.report()
	r.DOMElements = n
	return r
}

// waitIdle waits until no request has been in flight for networkQuiet.
func (tab *Tab) waitIdle() {
	tab.t.Helper()
	deadline := time.Now().Add(ActionTimeout)
	for {
		ok, pending := tab.rec.idle(networkQuiet)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tab.t.Fatalf("browsertest: %s: network still busy after %s; in flight: %v", tab.rec.currentURL(), ActionTimeout, pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
