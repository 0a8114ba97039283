package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Tab is one page in its own browser context (like an incognito window:
// cookies, cache and storage are not shared with other tabs). Its methods
// fail the test with t.Fatalf, naming the current URL, and each one gives up
// after ActionTimeout. Use a Tab from its test's goroutine only.
type Tab struct {
	t   testing.TB
	ctx context.Context
	rec *recorder
}

// MustTab opens a tab in the shared browser, closed when the test ends. It
// skips the test when Chromium is missing (fails when
// BERRIZ_TEST_REQUIRE_SERVICES=1).
func MustTab(t testing.TB) *Tab {
	t.Helper()
	if err := browser.start(); err != nil {
		if errors.Is(err, errMissing) {
			skipOrFatal(t, err)
		}
		t.Fatalf("browsertest: %v", err)
	}
	ctx, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// As for the browser, the tab's first Run binds the tab to its context:
	// bound it with a timer, not a context timeout.
	timer := time.AfterFunc(startTimeout, cancel)
	err := chromedp.Do(ctx)
	if !timer.Stop() && err == nil {
		err = context.DeadlineExceeded
	}
	if err != nil {
		t.Fatalf("browsertest: open tab: %v", err)
	}
	tab := &Tab{t: t, ctx: ctx}
	tree := runValue(tab, "read frame tree", func(ctx context.Context, tg *chromedp.Target) (*page.FrameTree, error) {
		r, err := cdp.Call(ctx, tg, page.GetFrameTree, cdp.Empty{})
		return r.FrameTree, err
	})
	tab.rec = newRecorder(tree.Frame.ID)
	if err := chromedp.Listen(ctx, tab.rec.handle); err != nil {
		t.Fatalf("browsertest: listen to tab events: %v", err)
	}
	tab.Run(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: viewportWidth, Height: viewportHeight, DeviceScaleFactor: 1,
		}); err != nil {
			return fmt.Errorf("set viewport: %w", err)
		}
		// Cold cache for every request of every page, and no service worker
		// answering in the network's place.
		if _, err := cdp.Call(ctx, tg, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
			return fmt.Errorf("disable cache: %w", err)
		}
		if _, err := cdp.Call(ctx, tg, network.SetBypassServiceWorker, network.SetBypassServiceWorkerParams{Bypass: true}); err != nil {
			return fmt.Errorf("bypass service workers: %w", err)
		}
		return nil
	}))
	return tab
}

// Context is the tab's chromedp context, for chromedp.Run with actions that
// return a value. Derive a timeout from it; never cancel it.
func (tab *Tab) Context() context.Context { return tab.ctx }

// Run runs chromedp actions in order, the escape hatch for what the helpers
// do not cover. It fails the test on error or after ActionTimeout.
func (tab *Tab) Run(actions ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	runValue(tab, "run actions", chromedp.Steps(actions...))
}

// RunValue runs one chromedp action that returns a value, with the tab's
// timeout, failing the test on error.
func RunValue[T any](tab *Tab, action chromedp.Action[T]) T {
	tab.t.Helper()
	return runValue(tab, "run action", action)
}

func runValue[T any](tab *Tab, what string, action chromedp.Action[T]) T {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, ActionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		tab.fatalf("%s: %v", what, err)
	}
	return v
}

// fatalf fails the test with the current URL in the message.
func (tab *Tab) fatalf(format string, args ...any) {
	tab.t.Helper()
	url := "about:blank"
	if tab.rec != nil {
		url = tab.rec.currentURL()
	}
	tab.t.Fatalf("browsertest: at %s: %s", url, fmt.Sprintf(format, args...))
}

// Navigate loads url and waits for its load event.
func (tab *Tab) Navigate(url string) {
	tab.t.Helper()
	runValue(tab, "navigate to "+url, chromedp.Navigate(url))
	if msg := tab.rec.failure(); msg != "" {
		tab.fatalf("navigate to %s: %s", url, msg)
	}
	// Requests the page starts after its load event (the favicon) must end
	// here, or the next navigation cancels them and waits on them forever.
	tab.waitIdle()
}

// Fill sets the value of an input, textarea or select matched by the CSS
// selector and fires its input and change events, as typing would. It
// fails on a checkbox or radio (use Click) and on a select without that value.
func (tab *Tab) Fill(selector, value string) {
	tab.t.Helper()
	const fillJS = `function(v) {
		const tag = this.tagName.toLowerCase(), type = (this.type || '').toLowerCase();
		if (tag !== 'input' && tag !== 'textarea' && tag !== 'select') return 'not a form field: <' + tag + '>';
		if (type === 'checkbox' || type === 'radio' || type === 'file') return 'cannot fill a ' + type + ' input';
		this.focus();
		this.value = v;
		if (this.value !== v) return 'value not accepted (got ' + JSON.stringify(this.value) + ')';
		this.dispatchEvent(new Event('input', {bubbles: true}));
		this.dispatchEvent(new Event('change', {bubbles: true}));
		return '';
	}`
	msg := runValue(tab, "fill "+selector, chromedp.QueryAfter(chromedp.CSS(selector),
		func(ctx context.Context, tg *chromedp.Target, nodes []*chromedp.Node) (string, error) {
			return callOnNode[string](ctx, tg, nodes[0], fillJS, value)
		}))
	if msg != "" {
		tab.fatalf("fill %s with %q: %s", selector, value, msg)
	}
}

// SetFiles chooses files for an <input type=file>.
func (tab *Tab) SetFiles(selector string, paths ...string) {
	tab.t.Helper()
	runValue(tab, "set files of "+selector, chromedp.SetUploadFiles(chromedp.CSS(selector), paths))
}

// clickGrace is how long Click waits for a navigation to start.
const clickGrace = 300 * time.Millisecond

// Click clicks the first visible element matched by the CSS selector. When
// the click starts a navigation (a link, a submit button), Click waits for the
// new page's load event; the next Measure then covers that page only.
func (tab *Tab) Click(selector string) {
	tab.t.Helper()
	before := tab.rec.nav()
	runValue(tab, "click "+selector, chromedp.Click(chromedp.CSS(selector)))
	start := time.Now()
	for {
		now := tab.rec.nav()
		switch {
		case now.navSeq > before.navSeq && tab.rec.failure() != "":
			tab.fatalf("click %s: navigation failed: %s", selector, tab.rec.failure())
		case now.navSeq > before.navSeq && now.loadSeq == now.navSeq:
			tab.waitIdle() // see Navigate
			return         // the new document has loaded
		case now.sameDoc > before.sameDoc && now.navSeq == before.navSeq:
			return // fragment or history navigation: nothing to load
		case now.navSeq == before.navSeq && now.requested == before.requested && time.Since(start) > clickGrace:
			return // no navigation
		case time.Since(start) > ActionTimeout:
			tab.fatalf("click %s: the navigation it started did not load within %s", selector, ActionTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Text returns the rendered text (innerText) of the first element matched
// by the CSS selector, waiting for it to exist.
func (tab *Tab) Text(selector string) string {
	tab.t.Helper()
	return runValue(tab, "read text of "+selector, chromedp.Text(chromedp.CSS(selector)))
}

// Count returns how many elements match the CSS selector now, without
// waiting: use it to assert that something is absent.
func (tab *Tab) Count(selector string) int {
	tab.t.Helper()
	sel, err := json.Marshal(selector)
	if err != nil {
		tab.fatalf("count %s: %v", selector, err)
	}
	return runValue(tab, "count "+selector, chromedp.Evaluate[int](
		"document.querySelectorAll("+string(sel)+").length"))
}

// callOnNode calls a JavaScript function with the node as this.
func callOnNode[T any](ctx context.Context, tg *chromedp.Target, n *chromedp.Node, fn string, args ...any) (T, error) {
	r, err := cdp.Call(ctx, tg, dom.ResolveNode, dom.ResolveNodeParams{NodeID: n.NodeID})
	if err != nil {
		var zero T
		return zero, fmt.Errorf("resolve node: %w", err)
	}
	defer cdp.Call(ctx, tg, runtime.ReleaseObject, runtime.ReleaseObjectParams{ObjectID: r.Object.ObjectID})
	return chromedp.CallFunctionOn[T](fn, func(p *runtime.CallFunctionOnParams) { p.ObjectID = r.Object.ObjectID }, args...)(ctx, tg)
}

// Title returns the document title.
func (tab *Tab) Title() string {
	tab.t.Helper()
	return runValue(tab, "read title", chromedp.Title())
}

// URL returns the current location.
func (tab *Tab) URL() string {
	tab.t.Helper()
	return runValue(tab, "read location", chromedp.Location())
}

// Screenshot writes a full-page PNG to path, for debugging.
func (tab *Tab) Screenshot(path string) {
	tab.t.Helper()
	png := runValue(tab, "screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tab.fatalf("write screenshot: %v", err)
	}
}
