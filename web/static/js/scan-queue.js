// The scan station's sending and offline queue. Every scan gets a key of
// its own (crypto.randomUUID) and the action in force, goes into a queue
// kept in IndexedDB, and the queue is sent in order to POST /api/v1/scan,
// which applies each key once and answers what happened. While the network
// is down (navigator.onLine false, or a request fails) scans wait in the
// queue, shown as such; the queue is sent again when the browser is back
// online, on page load, with the next scan, and by itself while something
// waits (see firstRetry: a link coming back often fails its first request).
// Each line then says what succeeded and what conflicted. Without this
// script the form posts to /scan as usual.
(function () {
  'use strict';
  var form = document.getElementById('scan-form'), field = document.getElementById('f-code');
  var net = document.getElementById('scan-net'), list = document.getElementById('scan-recent');
  if (!form || !field || !net || !list || !window.fetch || !window.indexedDB || !window.crypto ||
    !crypto.randomUUID || !window.Promise) return;
  var d = net.dataset, action = d.action || '', csrf = form.elements.csrf.value;
  var banner = document.getElementById('scan-action'), bannerText = document.getElementById('scan-action-text');
  var help = document.getElementById('scan-action-help'), last = document.getElementById('scan-last');
  var empty = document.getElementById('scan-recent-empty'), stop = document.getElementById('scan-stop-form');
  // A failed send is tried again after firstRetry ms, twice that after each
  // failure since, at most every maxRetry ms.
  var firstRetry = 1000, maxRetry = 30000;
  var db = null, busy = false, again = false, timer = 0, retry = firstRetry, lines = {}, live = {}, lastCard = '', sent;

  function req(r) {
    return new Promise(function (ok, ko) { r.onsuccess = function () { ok(r.result); }; r.onerror = function () { ko(r.error); }; });
  }
  function store(mode) { return db.transaction('queue', mode).objectStore('queue'); }
  function status(text) { net.textContent = text; net.hidden = !text; }

  // card reads an action card as internal/scan does: '' for stop, null for
  // anything else.
  function card(code) {
    var m = /^(?:https?:\/\/[^\/]+)?(?:\/[^\/]+)?\/a\/(receive|recycle|publish|stop|move\/([1-9][0-9]*))\/?$/i.exec(code.trim());
    if (!m) return null;
    var k = m[1].toLowerCase();
    return k === 'stop' ? '' : m[2] ? 'move:' + m[2] : k;
  }
  function setAction(a, text) {
    action = a;
    banner.hidden = !a;
    if (!a) return;
    var m = /^move:([0-9]+)$/.exec(a);
    bannerText.textContent = text || (m ? d.move.replace('{id}', m[1]) : d[a]);
    help.textContent = '';
  }

  // show writes what happened to a scan on its line of the last scans.
  function show(item, state, text, device, code) {
    var li = lines[item.key];
    if (!li) {
      li = lines[item.key] = document.createElement('li');
      list.insertBefore(li, list.firstChild);
      while (list.children.length > 25) list.removeChild(list.lastChild);
      if (empty) empty.hidden = true;
    }
    li.setAttribute('data-state', state);
    li.textContent = (code || item.code) + ' : ' + text;
    if (device) {
      var a = document.createElement('a');
      a.href = device.url;
      a.textContent = device.label;
      li.append(' — ', a);
    }
    if (state !== 'queued' && last) {
      last.hidden = false;
      last.className = 'flash flash-' + (state === 'done' ? 'success' : 'error');
      last.textContent = li.textContent;
    }
  }

  function send(item) {
    return fetch(d.api, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ key: item.key, code: item.code, action: item.action })
    }).then(function (r) {
      return r.json().then(function (b) { return { status: r.status, body: b }; },
        function () { return { status: r.status, body: {} }; });
    });
  }

  // settle shows an answer. It returns false when the scan must wait for a
  // later try (signed out, server trouble), else the page to go to ('' to
  // stay): a lookup scanned live shows the device or the intake choice.
  function settle(item, r, alone) {
    var b = r.body || {}, err = b.error || {};
    if (r.status === 401 || r.status === 403) { status(d.signin); return false; }
    if (r.status >= 500 || err.code === 'scan_key_pending') return false;
    if (r.status !== 200) {
      show(item, 'refused', d.conflict + ' — ' + (err.message || r.status));
      sent.conflicts++;
      return '';
    }
    var good = b.outcome === 'done' || b.outcome === 'info';
    show(item, good ? 'done' : 'refused', (good ? '' : d.conflict + ' — ') + b.message, b.device, b.code);
    if (good) sent.done++; else sent.conflicts++;
    if (item.key === lastCard) setAction(b.action || '', b.banner); // the card's fate, unless a later card rules
    return b.next && alone && live[item.key] ? b.next : '';
  }

  // flush sends the queue in order, stopping at the first scan that must
  // wait.
  function flush() {
    clearTimeout(timer);
    if (busy || !db) { again = true; return; }
    if (!navigator.onLine) { status(d.offline); return; }
    busy = true;
    again = false;
    sent = { done: 0, conflicts: 0 };
    req(store('readonly').getAll()).then(function (items) {
      var replay = items.some(function (it) { return !live[it.key]; });
      items.forEach(function (it) {
        if (card(it.code) !== null) lastCard = it.key;
        if (!lines[it.key] && !live[it.key]) show(it, 'queued', d.queued);
      });
      if (replay) status(d.sending);
      var next = function (i) {
        if (i >= items.length) return true;
        var item = items[i];
        return send(item).then(function (r) {
          var go = settle(item, r, i === items.length - 1);
          if (go === false) return false;
          return req(store('readwrite').delete(item.seq)).then(function () {
            if (go) location.assign(go);
            return next(i + 1);
          });
        }, function () { return false; });
      };
      return next(0).then(function (all) {
        if (!all) {
          items.forEach(function (it) { if (!lines[it.key] || lines[it.key].getAttribute('data-state') === 'queued') show(it, 'queued', d.queued); });
          if (net.textContent !== d.signin) status(d.offline);
          timer = setTimeout(flush, retry);
          retry = Math.min(retry * 2, maxRetry);
          return;
        }
        retry = firstRetry;
        if (replay) {
          status(d.sent.replace('{done}', sent.done).replace('{conflicts}', sent.conflicts));
        } else if (net.textContent === d.offline || net.textContent === d.sending) {
          status('');
        }
      });
    }).then(done, done);
  }
  function done() {
    busy = false;
    if (again) flush();
  }

  // scan queues what was typed with the action in force, and sends it.
  function scan(code) {
    var item = { key: crypto.randomUUID(), code: code, action: action };
    var c = card(code);
    if (c !== null) {
      setAction(c);
      lastCard = item.key;
    }
    if (navigator.onLine) live[item.key] = true;
    else show(item, 'queued', d.queued);
    req(store('readwrite').add(item)).then(flush, function () { status(d.offline); });
  }

  form.addEventListener('submit', function (e) {
    var code = field.value.trim();
    if (!db || !code) return; // the form posts as usual
    e.preventDefault();
    field.value = '';
    field.focus();
    scan(code);
  });
  if (stop) stop.addEventListener('submit', function (e) {
    if (!db) return;
    e.preventDefault();
    scan('/a/stop');
  });
  window.addEventListener('online', function () { retry = firstRetry; flush(); });
  window.addEventListener('offline', function () { status(d.offline); });

  var open = indexedDB.open('berriz-scan-' + d.user, 1);
  open.onupgradeneeded = function () { open.result.createObjectStore('queue', { keyPath: 'seq', autoIncrement: true }); };
  req(open).then(function (x) { db = x; flush(); }, function () {});
})();
