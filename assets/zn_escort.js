/* /escort: the escort's taps (上车 / 下车 / 未到), kept in the phone's outbox
   (assets/zn_queue.js: localStorage, one idempotency key each), shown at once and sent to
   POST /api/v1/buses/boarding when the connection allows. A retried event is stored once by
   the server (its key is UNIQUE), so a tap is never lost and never counted twice. Drawn with
   textContent only. */
(function () {
  "use strict";
  var view = {data: null, errors: [], drawn: ""};
  var outbox = null;

  /* Made on first use: the assets load in name order, zn_queue.js after this file. */
  function outboxOf() {
    if (!outbox) {
      outbox = window.zn_queue.create({
        name: "zn-escort-queue", prefix: "esc-", send: send,
        sent: function (e) { settle(e); },
        refused: function (e, msg) { view.errors.push(msg); },
        changed: function () { draw(); }
      });
    }
    return outbox;
  }
  function queue() { return outboxOf().items(); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function hhmm(iso) { var d = new Date(iso); return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  /* The server's states with the unsent taps of this trip applied over them, in the order
     they happened (as the server's tally does). */
  function apply(p, e) {
    if (e.event === "board") { p.state = "on_board"; }
    else if (e.event === "alight") { p.state = "alighted"; }
    else if (p.state === "expected" || p.state === "absent") { p.state = "absent"; }
    p.at = hhmm(e.at);
  }
  function pupilsNow(data) {
    var out = {};
    data.stops.forEach(function (s) {
      s.pupils.forEach(function (p) { out[p.id] = {state: p.state, at: p.at}; });
    });
    queue().filter(function (e) { return e.trip === data.trip && out[e.pupil]; })
      .sort(function (a, b) { return a.at < b.at ? -1 : a.at > b.at ? 1 : 0; })
      .forEach(function (e) { apply(out[e.pupil], e); });
    return out;
  }
  /* A sent tap's effect stays on screen until the next reading of the trip shows it. */
  function settle(e) {
    if (!view.data || !view.data.stops || view.data.trip !== e.trip) { return; }
    view.data.stops.forEach(function (s) {
      s.pupils.forEach(function (p) { if (p.id === e.pupil) { apply(p, e); } });
    });
  }

  function draw() {
    var root = document.getElementById("escort-list");
    var data = view.data;
    if (!root || !data) { return; }
    /* Redraw only when something shown changed: a redraw replaces the buttons, and a
       finger landing on one just then would miss. */
    var sig = JSON.stringify([data, queue(), view.errors.slice(-3), outboxOf().state.offline]);
    if (sig === view.drawn && root.firstChild) { return; }
    view.drawn = sig;
    root.textContent = "";
    if (!data.trip) { root.appendChild(el("p", "esc-hint", data.message)); return; }
    var L = data.labels;
    var now = pupilsNow(data);
    var counts = {on_board: 0, alighted: 0, absent: 0};
    Object.keys(now).forEach(function (k) {
      if (counts[now[k].state] !== undefined) { counts[now[k].state] += 1; }
    });
    root.appendChild(el("div", "esc-trip", data.trip + (data.plate ? " · " + data.plate : "")));
    var box = el("div", "esc-counts");
    [["esc_expected", data.counts.expected, "expected"], ["esc_on_board", counts.on_board, "on_board"],
     ["esc_alighted", counts.alighted, "alighted"], ["esc_absent_n", counts.absent, "absent"]]
      .forEach(function (c) {
        var cell = el("div", "esc-count esc-count-" + c[2]);
        cell.appendChild(el("b", null, c[1]));
        cell.appendChild(el("span", null, L[c[0]]));
        box.appendChild(cell);
      });
    root.appendChild(box);
    var n = queue().length;
    var q = el("div", "esc-queue" + (n ? " esc-queue-waiting" : ""),
               n ? L.esc_queue.replace("{n}", n) : L.esc_synced);
    q.id = "escort-queue";
    q.setAttribute("data-n", String(n));
    root.appendChild(q);
    if (outboxOf().state.offline && n) { root.appendChild(el("div", "esc-offline", L.esc_offline)); }
    view.errors.slice(-3).forEach(function (msg) {
      root.appendChild(el("div", "esc-error", L.esc_refused + msg));
    });
    data.stops.forEach(function (s) {
      if (!s.pupils.length && !s.staff.length) { return; }
      var stop = el("section", "esc-stop");
      stop.appendChild(el("h2", null, s.time + " " + s.name + " · " +
        (s.action === "board" ? L.esc_board_here : L.esc_alight_here) + " " + s.pupils.length));
      s.staff.forEach(function (d) {
        stop.appendChild(el("div", "esc-staff", d.duty + L.esc_colon + d.name + (d.phone ? " " + d.phone : "")));
      });
      s.pupils.forEach(function (p) {
        var st = now[p.id];
        var row = el("div", "esc-pupil esc-" + st.state);
        row.setAttribute("data-pupil", p.id);
        var who = el("div", "esc-who");
        who.appendChild(el("span", "esc-name", p.name));
        who.appendChild(el("span", "esc-class", p["class"]));
        who.appendChild(el("span", "esc-state", (st.state === "expected" ? "" :
          L[{on_board: "esc_on_board", alighted: "esc_alighted", absent: "esc_absent"}[st.state]] +
          " " + st.at)));
        row.appendChild(who);
        var buttons = el("div", "esc-buttons");
        ["board", "alight", "absent"].forEach(function (ev) {
          var b = el("button", "esc-tap esc-tap-" + ev, L["esc_" + ev]);
          b.type = "button";
          b.setAttribute("data-pupil", p.id);
          b.setAttribute("data-event", ev);
          buttons.appendChild(b);
        });
        row.appendChild(buttons);
        stop.appendChild(row);
      });
      root.appendChild(stop);
    });
  }

  function send(e) {
    var list = document.getElementById("escort-list");
    return fetch("/api/v1/buses/boarding", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": window.zn_queue.csrf(),
                "Accept-Language": (list && list.dataset.lang) || "zh"},
      body: JSON.stringify({pupil: e.pupil, event: e.event, at: e.at, vehicle: e.vehicle,
                            key: e.key})
    });
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target && ev.target.closest ? ev.target.closest(".esc-tap") : null;
    if (!b || !view.data || !view.data.trip) { return; }
    outboxOf().push({pupil: b.getAttribute("data-pupil"), event: b.getAttribute("data-event"),
                at: new Date().toISOString(), vehicle: view.data.plate, trip: view.data.trip});
  });

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    zn_escort: {
      render: function (data) {
        view.data = data || null;
        draw();
        outboxOf().flush();
        return "";
      }
    }
  });
})();
