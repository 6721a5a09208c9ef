/* The phone pages' outbox (/escort's taps, /field's reports): what the user did is kept in
   localStorage at once, each item with an idempotency key, and sent oldest first when the
   connection allows (at once, when the browser says it is back online, and every 5 s). An
   item the network or the server cannot take now (no connection, 401, 429, 5xx) waits; one
   the server refuses for good (another 4xx) is dropped and its message shown. The server
   stores a retried key once, so nothing is lost and nothing is counted twice.

   window.zn_queue.create({name, prefix, send(item) -> Promise<Response>, sent(item, body),
   refused(item, message), dropped(item), changed()}) -> {items, push, flush, state}. */
(function () {
  "use strict";

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)_csrf_token=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function newKey(prefix) {
    if (window.crypto && window.crypto.randomUUID) { return prefix + window.crypto.randomUUID(); }
    return prefix + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function create(opts) {
    var state = {sending: false, offline: false};
    function items() {
      try { return JSON.parse(window.localStorage.getItem(opts.name) || "[]"); } catch (e) { return []; }
    }
    function save(q) { window.localStorage.setItem(opts.name, JSON.stringify(q)); }
    function changed() { if (opts.changed) { opts.changed(); } }
    function drop(item) {
      save(items().filter(function (e) { return e.key !== item.key; }));
      if (opts.dropped) { opts.dropped(item); }
    }
    function flush() {
      var q = items();
      if (state.sending || !q.length) { return; }
      state.sending = true;
      var e = q[0];
      Promise.resolve().then(function () { return opts.send(e); }).then(function (r) {
        state.offline = false;
        if (r.ok) {
          return r.json().catch(function () { return {}; }).then(function (body) {
            if (opts.sent) { opts.sent(e, body); }
            drop(e);
            return true;
          });
        }
        if (r.status === 401 || r.status === 429 || r.status >= 500) { return false; }
        return r.json().catch(function () { return {}; }).then(function (body) {
          drop(e);
          if (opts.refused) { opts.refused(e, (body && body.message) || String(r.status)); }
          return true;
        });
      }, function () { state.offline = true; return false; })
        .then(function (more) {
          state.sending = false;
          changed();
          if (more) { flush(); }
        });
    }
    function push(item) {
      item.key = item.key || newKey(opts.prefix || "");
      var q = items();
      q.push(item);
      save(q);
      changed();
      flush();
      return item;
    }
    window.addEventListener("online", flush);
    window.setInterval(flush, opts.every || 5000);
    return {items: items, push: push, flush: flush, state: state};
  }

  window.zn_queue = {create: create, csrf: csrf, newKey: newKey};
})();
