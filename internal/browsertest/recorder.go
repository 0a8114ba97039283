package browsertest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
)

// recorder follows one tab's protocol events, in the order Chromium sends
// them (chromedp.Listen), and keeps what the current page loaded: it starts
// over whenever the main frame starts loading a new document, so a report
// covers exactly one page, whether it came from Navigate or from a Click.
type recorder struct {
	mainFrame cdp.FrameID

	mu           sync.Mutex
	requests     map[network.RequestID]*request
	order        []network.RequestID
	docID        network.RequestID // request of the current main document
	docStatus    int64
	docURL       string
	docFailed    string // errorText when the main document failed to load
	url          string // last committed URL of the main frame
	console      []string
	lastActivity time.Time
	navSeq       int // main-frame document loads started
	loadSeq      int // navSeq at the last load event
	requested    int // main-frame navigations requested by the page (link, form)
	sameDoc      int // same-document navigations (fragment, history API)
}

// request is one network request of the current page. A redirect hop is its
// own request: it costs a round trip and its response bytes.
type request struct {
	url      string
	kind     network.ResourceType
	status   int64
	bytes    int64
	inFlight bool
	started  time.Time
	failed   string
}

func newRecorder(mainFrame cdp.FrameID) *recorder {
	return &recorder{
		mainFrame:    mainFrame,
		requests:     map[network.RequestID]*request{},
		lastActivity: time.Now(),
	}
}

// reset forgets the previous page; the caller holds mu.
func (r *recorder) reset() {
	r.requests = map[network.RequestID]*request{}
	r.order = nil
	r.docID, r.docStatus, r.docURL, r.docFailed = "", 0, "", ""
	r.console = nil
}

// handle is the chromedp.Listen callback: it runs on the tab's read loop, so
// it only updates state.
func (r *recorder) handle(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Request == nil || !counted(ev.Request.URL) {
			return
		}
		isDoc := ev.Type == network.ResourceTypeDocument && ev.FrameID == r.mainFrame
		if isDoc && ev.RedirectResponse == nil {
			r.reset()
			r.navSeq++
		}
		if prev, ok := r.requests[ev.RequestID]; ok && ev.RedirectResponse != nil {
			// The same id goes on after a redirect: close the hop and give
			// the id to the new request.
			prev.inFlight = false
			prev.status = ev.RedirectResponse.Status
			prev.bytes = int64(ev.RedirectResponse.EncodedDataLength)
			hop := network.RequestID(fmt.Sprintf("%s#%d", ev.RequestID, len(r.order)))
			r.requests[hop] = prev
			for i, id := range r.order {
				if id == ev.RequestID {
					r.order[i] = hop
				}
			}
		}
		r.requests[ev.RequestID] = &request{url: ev.Request.URL, kind: ev.Type, inFlight: true, started: now}
		r.order = append(r.order, ev.RequestID)
		if isDoc {
			r.docID = ev.RequestID
			r.docURL = ev.Request.URL
		}
		r.lastActivity = now
	case *network.EventResponseReceived:
		if req, ok := r.requests[ev.RequestID]; ok {
			req.status = ev.Response.Status
			if ev.Type != "" {
				req.kind = ev.Type
			}
			if ev.RequestID == r.docID {
				r.docStatus = ev.Response.Status
				r.docURL = ev.Response.URL
			}
		}
	case *network.EventLoadingFinished:
		if req, ok := r.requests[ev.RequestID]; ok {
			req.inFlight = false
			req.bytes = int64(ev.EncodedDataLength)
			r.lastActivity = now
		}
	case *network.EventLoadingFailed:
		if req, ok := r.requests[ev.RequestID]; ok {
			req.inFlight = false
			req.failed = ev.ErrorText
			if ev.RequestID == r.docID {
				r.docFailed = ev.ErrorText
			}
			r.lastActivity = now
		}
	case *page.EventFrameNavigated:
		if ev.Frame != nil && ev.Frame.ParentID == "" {
			r.url = ev.Frame.URL + ev.Frame.URLFragment
		}
	case *page.EventNavigatedWithinDocument:
		if ev.FrameID == r.mainFrame {
			r.url = ev.URL
			r.sameDoc++
		}
	case *page.EventFrameRequestedNavigation:
		// A link to another tab or a download does not change this page.
		if ev.FrameID == r.mainFrame && ev.Disposition == page.ClientNavigationDispositionCurrentTab {
			r.requested++
		}
	case *page.EventLoadEventFired:
		r.loadSeq = r.navSeq
	case *log.EventEntryAdded:
		if e := ev.Entry; e != nil && e.Level == log.EntryLevelError {
			msg := e.Text
			if e.URL != "" {
				msg += " (" + e.URL + ")"
			}
			r.console = append(r.console, msg)
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			r.console = append(r.console, "console."+string(ev.Type)+": "+remoteText(ev.Args))
		}
	case *runtime.EventExceptionThrown:
		if d := ev.ExceptionDetails; d != nil {
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			r.console = append(r.console, "uncaught: "+msg)
		}
	}
}

// faviconGrace is how long a favicon request in flight holds idleness.
const faviconGrace = 3 * time.Second

func isFavicon(u string) bool {
	path, _, _ := strings.Cut(u, "?")
	i := strings.LastIndexByte(path, '/')
	return strings.HasPrefix(path[i+1:], "favicon")
}

// counted tells whether a URL is a network request: data: and blob: URLs are
// already inside a counted response.
func counted(u string) bool {
	return !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "blob:")
}

// remoteText renders console arguments the way DevTools roughly shows them.
func remoteText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		switch {
		case a == nil:
		case a.Type == runtime.RemoteObjectTypeString:
			var s string
			if json.Unmarshal(a.Value, &s) != nil {
				s = string(a.Value)
			}
			parts = append(parts, s)
		case a.Description != "":
			parts = append(parts, a.Description)
		case len(a.Value) > 0:
			parts = append(parts, string(a.Value))
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

// navState is a snapshot of the navigation counters, to detect what a click did.
type navState struct{ navSeq, loadSeq, requested, sameDoc int }

func (r *recorder) nav() navState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return navState{r.navSeq, r.loadSeq, r.requested, r.sameDoc}
}

// failure returns the error text of the current main document, if it failed.
func (r *recorder) failure() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.docFailed
}

// currentURL is the last URL the main frame committed, for error messages.
func (r *recorder) currentURL() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.url == "" {
		return "about:blank"
	}
	return r.url
}

// idle reports whether no request has been in flight for quiet, and lists
// the requests still in flight otherwise.
func (r *recorder) idle(quiet time.Duration) (bool, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var pending []string
	for _, id := range r.order {
		req := r.requests[id]
		// Chromium fetches the favicon from the browser process: on a busy
		// machine it sometimes never reports the end of that request. It
		// is still counted; it just does not hold the page's idle state
		// beyond a few seconds.
		if req.inFlight && !(isFavicon(req.url) && time.Since(req.started) > faviconGrace) {
			pending = append(pending, req.url)
		}
	}
	return len(pending) == 0 && time.Since(r.lastActivity) >= quiet, pending
}

// report builds the network and console part of a PageReport.
func (r *recorder) report() PageReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := PageReport{URL: r.docURL, Status: int(r.docStatus)}
	if rep.URL == "" {
		rep.URL = r.url
	}
	hosts := map[string]bool{}
	for _, id := range r.order {
		req := r.requests[id]
		rep.Requests++
		rep.Bytes += req.bytes
		if req.kind == network.ResourceTypeFont {
			rep.Fonts++
		}
		if u, err := url.Parse(req.url); err == nil && u.Host != "" {
			hosts[u.Host] = true
		}
		rep.Resources = append(rep.Resources, Resource{
			URL: req.url, Type: string(req.kind), Status: int(req.status), Bytes: req.bytes, Failed: req.failed,
		})
	}
	for h := range hosts {
		rep.Domains = append(rep.Domains, h)
	}
	sort.Strings(rep.Domains)
	rep.ConsoleErrors = append([]string(nil), r.console...)
	return rep
}
