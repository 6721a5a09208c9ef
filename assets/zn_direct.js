// Pushed values the page's own script applies, past dash-renderer's store.
//
// The server's pushes (the wall's panels and bus frames, its status line, the console's
// panels) arrive from Dash's websocket SharedWorker as `set_props` messages. Through Dash each
// one is three store dispatches, a React pass over every connected component, then a
// clientside callback whose ack output is a fourth dispatch and a chain of setTimeout(0)s:
// on a 2,000-bus wall ~40 % of the page's script time (a CPU profile, bench/README.md).
// Here a value whose component has a handler (window.zn.direct.apply) goes straight to it;
// the server's question for an ack (get_props on a component with an answer) is answered
// from what the handler drew. Everything else, and a value whose handler declines it (its
// page is not shown), goes on to Dash unchanged. The message shapes are Dash 4.4's
// (dash-renderer's WorkerClient and dash-ws-worker.js; the version is pinned in pyproject).
//
// Loaded before dash-renderer (every asset is), so the worker it creates is wrapped.
(function () {
  var zn = window.zn = window.zn || {};
  // The component ids the scripts look up, named in Python (pages/_script_ids.py) and carried
  // by the page's <meta name="zn-ids">; this script loads first (assets load by name), so
  // the others read window.zn.ids as they load.
  var meta = document.querySelector('meta[name="zn-ids"]');
  zn.ids = zn.ids || (meta ? JSON.parse(meta.content) : {CLOCK: null, wall: {}, console: {}});
  // taken: how many values were applied here (test_wall004 reads it).
  var direct = zn.direct = zn.direct || {apply: {}, answer: {}, taken: 0};
  var Native = window.SharedWorker;
  var nativeOnMessage = window.MessagePort &&
      Object.getOwnPropertyDescriptor(MessagePort.prototype, "onmessage");
  if (!Native || !nativeOnMessage || !nativeOnMessage.set) { return; }  // Dash's own path

  // True when a handler applied the value (Dash is then not told).
  function take(p) {
    var apply = p && direct.apply[p.componentId];
    if (!apply || !p.props) { return false; }
    if (apply(p.props) !== true) { return false; }
    direct.taken += 1;
    return true;
  }

  function answer(port, m) {
    var p = m.payload || {};
    var ask = direct.answer[p.componentId];
    var props = ask ? ask(p.properties || []) : undefined;
    if (props === undefined) { return false; }
    port.postMessage({type: "get_props_response", rendererId: m.rendererId,
                      requestId: m.requestId, payload: props});
    return true;
  }

  function filtered(port, m) {
    if (!m) { return m; }
    if (m.type === "set_props") { return take(m.payload) ? null : m; }
    if (m.type === "set_props_batch" && Array.isArray(m.payload)) {
      var rest = m.payload.filter(function (p) { return !take(p); });
      if (!rest.length) { return null; }
      return rest.length === m.payload.length ? m
        : {type: m.type, rendererId: m.rendererId, payload: rest};
    }
    if (m.type === "get_props_request") { return answer(port, m) ? null : m; }
    return m;
  }

  function wrap(port, handler) {
    if (typeof handler !== "function") { return handler; }
    return function (event) {
      var m = event.data, rest = m;
      try {
        rest = filtered(port, m);
      } catch (err) {
        // A handler that fails leaves the value to Dash, which applies it its own way.
        console.warn("zn.direct: handing a pushed value back to Dash", err);
        rest = m;
      }
      if (rest === null) { return undefined; }
      return handler.call(this, rest === m ? event : {data: rest});
    };
  }

  function Wrapped(url, options) {
    var worker = new Native(url, options);
    var port = worker.port;
    var held = null;
    Object.defineProperty(port, "onmessage", {
      configurable: true,
      get: function () { return held; },
      set: function (handler) {
        held = handler;
        nativeOnMessage.set.call(port, wrap(port, handler));
      }
    });
    return worker;
  }
  Wrapped.prototype = Native.prototype;
  window.SharedWorker = Wrapped;

  // A text or class pushed to a plain element (a status line, a sequence number): written
  // to the element; false (Dash applies it) when the page does not show it.
  direct.text = function (id) {
    return function (props) {
      var el = document.getElementById(id);
      var keys = Object.keys(props);
      if (!el || keys.some(function (k) { return k !== "children" && k !== "className"; })) {
        return false;
      }
      if (Object.prototype.hasOwnProperty.call(props, "children")) {
        var text = props.children === null || props.children === undefined
          ? "" : String(props.children);
        if (el.textContent !== text) { el.textContent = text; }
      }
      if (typeof props.className === "string" && el.className !== props.className) {
        el.className = props.className;
      }
      return true;
    };
  };
})();
