package server_test

import (
	"context"
	"testing"

	"github.com/berriz/berriz/internal/browsertest"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// typeScan types a code into the station's field and submits the form as
// Enter would, without waiting for a navigation: with scan-queue.js the
// scan is sent in the background.
func typeScan(t *testing.T, tab *browsertest.Tab, code string) {
	t.Helper()
	tab.Fill("#f-code", code)
	tab.Run(chromedp.Evaluate[chromedp.Void](`document.getElementById('scan-form').requestSubmit()`))
}

// waitFor waits, in the page, until the JavaScript condition holds (10 s
// at most).
func waitFor(t *testing.T, tab *browsertest.Tab, cond string) {
	t.Helper()
	js := `new Promise(function (ok) { var t0 = Date.now(); (function poll() {
		var v = false; try { v = (` + cond + `); } catch (e) {}
		if (v || Date.now() - t0 > 10000) return ok(!!v);
		setTimeout(poll, 50); })(); })`
	if !browsertest.RunValue(tab, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise)) {
		t.Fatalf("waited in vain for %s; the page says: %s", cond, tab.Text("main"))
	}
}

// setOffline cuts the tab's network, or gives it back, as DevTools'
// "Offline" does: navigator.onLine follows (with its online and offline
// events) and every request fails meanwhile.
//
// The requests are cut before navigator.onLine says offline, and given back
// before it says online: the page's "online" event sends its queue at once,
// and a rule still in force then would fail that send and leave the queue
// waiting for the page's next try (1 s later, then longer).
func setOffline(t *testing.T, tab *browsertest.Tab, offline bool) {
	t.Helper()
	setUnreachable(t, tab, offline)
	tab.Run(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: offline, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
}

// setUnreachable makes every request of the tab fail, or succeed again,
// while the browser still believes it is online (a server or a link down
// behind a working Wi-Fi).
func setUnreachable(t *testing.T, tab *browsertest.Tab, offline bool) {
	t.Helper()
	tab.Run(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		var rules []*network.Conditions
		if offline {
			rules = []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
		}
		_, err := cdp.Call(ctx, tg, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: rules})
		return err
	}))
}
