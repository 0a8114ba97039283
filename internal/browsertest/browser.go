// Package browsertest drives Debian's headless Chromium from Go tests through
// the DevTools protocol (chromedp): one browser process per test binary, one
// isolated browser context (cookies, cache, storage) per test, journey helpers
// that fail the test with the current URL, and the checks every berriz screen
// must pass: the page budgets of ECODESIGN.md (bytes, requests, DOM size,
// domains, web fonts, measured cold-cache at 1920×1080 after a scroll to the
// bottom), axe-core's WCAG 2.1 A/AA rules, and no console error (a CSP
// violation shows up there). It owns no knowledge of berriz's pages.
//
// A test package that uses it declares
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Run(m)) }
//
// so that the shared browser stops when the tests end. Chromium and axe-core
// are installed by `make test` (deploy/local/chromium.sh, deploy/local/axe.sh);
// when one is missing the tests skip, or fail when BERRIZ_TEST_REQUIRE_SERVICES=1.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Environment variables read by the harness.
const (
	// EnvChromium names the Chromium binary; default /usr/bin/chromium, then
	// "chromium" on PATH.
	EnvChromium = "BERRIZ_CHROMIUM"
	// EnvAxe names axe.min.js; default <module root>/.cache/axe/node_modules/axe-core/axe.min.js.
	EnvAxe = "BERRIZ_AXE_JS"
	// EnvRequireServices set to 1 turns every "missing tool" skip into a failure,
	// so that CI cannot pass by skipping.
	EnvRequireServices = "BERRIZ_TEST_REQUIRE_SERVICES"
)

const (
	// ActionTimeout bounds every single browser action (navigation, click,
	// measurement, axe run), so that a hung page fails one test, not the suite.
	ActionTimeout = 15 * time.Second
	// startTimeout bounds the start of Chromium and the opening of a tab.
	startTimeout = 60 * time.Second
	// Viewport is the measured screen size, from ECODESIGN.md.
	viewportWidth, viewportHeight = 1920, 1080
)

// errMissing marks a tool that is not installed, as opposed to one that fails.
var errMissing = errors.New("not installed")

// shared is the one Chromium process of the test binary.
type shared struct {
	once        sync.Once
	err         error
	ctx         context.Context // chromedp context of the browser's first tab
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
	output      tailBuffer
}

var browser shared

// Run runs the tests, then stops the shared browser. Use it in TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Run(m)) }
func Run(m *testing.M) int {
	code := m.Run()
	Shutdown()
	return code
}

// Shutdown stops the shared browser if it was started. Run calls it; call it
// yourself only from a TestMain that cannot use Run.
func Shutdown() {
	if browser.cancel != nil {
		browser.cancel()
	}
	if browser.allocCancel != nil {
		browser.allocCancel() // waits for the process to exit and removes its profile
	}
}

// chromiumPath finds the browser binary.
func chromiumPath() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("chromium %s=%s: %w (%w)", EnvChromium, p, errMissing, err)
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("chromium: /usr/bin/chromium %w and no chromium on PATH", errMissing)
}

// start launches Chromium once for the whole test binary.
func (b *shared) start() error {
	b.once.Do(func() {
		path, err := chromiumPath()
		if err != nil {
			b.err = err
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.Flag("headless", true),
			chromedp.Flag("no-sandbox", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("disable-quic", true),
			// Not in the brief's list but harmless and stabilising: no
			// default-browser nag, no /dev/shm exhaustion in small containers,
			// no extensions (Debian's wrapper loads /usr/share/chromium/extensions),
			// and a stable layout width.
			chromedp.Flag("no-default-browser-check", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-extensions", true),
			chromedp.Flag("hide-scrollbars", true),
			chromedp.Flag("mute-audio", true),
			chromedp.WindowSize(viewportWidth, viewportHeight),
			// No UserDataDir option: chromedp then creates a fresh temporary
			// --user-data-dir and removes it (and any leftover child process)
			// when the browser stops.
			chromedp.CombinedOutput(&b.output),
		}
		allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(allocCtx)
		// The first Run binds the browser's life to its context, so it cannot
		// carry a timeout: a timer cancels it instead if Chromium never answers.
		timer := time.AfterFunc(startTimeout, cancel)
		err = chromedp.Do(ctx)
		if !timer.Stop() && err == nil {
			err = context.DeadlineExceeded
		}
		if err != nil {
			cancel()
			allocCancel()
			b.err = fmt.Errorf("start %s: %w\nbrowser output (tail):\n%s", path, err, b.output.String())
			return
		}
		b.ctx, b.cancel, b.allocCancel = ctx, cancel, allocCancel
	})
	return b.err
}

// requireServices reports whether missing tools must fail the tests.
func requireServices() bool { return os.Getenv(EnvRequireServices) == "1" }

// skipOrFatal stops the test because a tool is missing: a skip by default, a
// failure when EnvRequireServices=1.
func skipOrFatal(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("browsertest: %v; run `make test` (it installs Chromium and axe-core)", err)
	if requireServices() {
		t.Fatalf("%s [%s=1]", msg, EnvRequireServices)
	}
	t.Skip(msg)
}

// tailBuffer keeps the last few KB of the browser's output, for start errors.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 4096

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > tailMax {
		w.buf = append(w.buf[:0:0], w.buf[len(w.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
