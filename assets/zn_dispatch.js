// Duty console (/dispatch): the live queue drawn from plain rows (textContent only, never
// markup), its sorting and countdowns, keyboard control, and the incident focus on the map.
(function () {
  var desk = window.zn.ids.console;
  var LIST = desk.LIST, COUNT = desk.COUNT, MAP = desk.MAP, SELECTED = desk.SELECTED;
  var PRI = {urgent: 0, high: 1, normal: 2};
  var ui = {payload: null, sort: "deadline", selected: null, cursor: null, order: []};

  function nu() { return window.dash_clientside.no_update; }
  // The one text-only element builder, from zn_panels.js (loaded after this file).
  function el(tag, cls, text, attrs) { return window.zn.el(tag, cls, text, attrs); }
  // The rule is the server's: a row's `dl` is the instant it turns overdue (null once it is
  // done, dashboard/incidents/lifecycle.due_at) and T.units the countdown's units, largest
  // first (COUNTDOWN_UNITS). Here the clock is only compared with them.
  function countdown(dl, now, T) {
    if (dl === null || dl === undefined) { return ""; }
    var ms = Math.trunc((dl - now) / 1000) * 1000, label = ms >= 0 ? T.left : T.overdue;
    ms = Math.abs(ms);
    for (var i = 0; i < T.units.length; i++) {
      var unit = T.units[i];
      if (ms >= unit[1] || i === T.units.length - 1) {
        return label + " " + Math.floor(ms / unit[1]) + T[unit[0]];
      }
    }
    return "";
  }
  function overdue(r, now) { return r.dl !== null && r.dl !== undefined && now > r.dl; }
  function sorted(rows, sort, now) {
    var by = {
      deadline: function (a, b) {
        return (overdue(b, now) - overdue(a, now)) || ((a.dl || 9e15) - (b.dl || 9e15)) ||
          (a.id - b.id);
      },
      newest: function (a, b) { return (b.cr - a.cr) || (b.id - a.id); },
      priority: function (a, b) {
        return ((PRI[a.pri] === undefined ? 3 : PRI[a.pri]) -
                (PRI[b.pri] === undefined ? 3 : PRI[b.pri])) ||
          (overdue(b, now) - overdue(a, now)) || ((a.dl || 9e15) - (b.dl || 9e15));
      }
    }[sort] || function () { return 0; };
    return rows.slice().sort(by);
  }
  function row(r, T, now) {
    var od = overdue(r, now);
    var cls = "q-row" + (od ? " overdue" : "") + (r.pri === "urgent" ? " urgent" : "") +
      (r.id === ui.selected ? " selected" : "") + (r.id === ui.cursor ? " cursor" : "");
    var item = el("div", cls, null, {"data-id": String(r.id), "data-ref": r.ref,
                                      id: "q-" + r.id, role: "option"});
    var top = el("div", "q-top");
    top.appendChild(el("span", "q-ref", r.ref));
    top.appendChild(el("span", "q-cat", r.cat));
    if (r.urge) { top.appendChild(el("span", "q-mark urge", T.urge + (r.urge > 1 ? r.urge : ""))); }
    if (r.sup) { top.appendChild(el("span", "q-mark sup", T.sup)); }
    if (r.level) { top.appendChild(el("span", "q-mark level", T["lv_" + r.level] || r.level)); }
    if (r.rc > 1) {
      top.appendChild(el("span", "q-mark reports", (T.reports || "{n}").replace("{n}", r.rc)));
    }
    top.appendChild(el("span", "q-state " + r.sc, r.state));
    var title = el("div", "q-title");
    if (r.pri === "urgent") { title.appendChild(el("span", "q-urgent", T.urgent)); }
    title.appendChild(document.createTextNode(r.title));
    var meta = el("div", "q-meta");
    meta.appendChild(el("span", "q-grid", r.grid));
    meta.appendChild(el("span", "q-src", r.src));
    meta.appendChild(el("span", "q-cd", countdown(r.dl, now, T)));
    item.appendChild(top); item.appendChild(title); item.appendChild(meta);
    return item;
  }
  function render() {
    var box = document.getElementById(LIST), p = ui.payload;
    if (!box || !p) { return; }
    var now = Date.now(), T = p.text;
    var rows = sorted(p.rows, ui.sort, now);
    ui.order = rows.map(function (r) { return r.id; });
    var frag = document.createDocumentFragment();
    if (!rows.length) { frag.appendChild(el("div", "disp-empty", T.empty)); }
    rows.forEach(function (r) { frag.appendChild(row(r, T, now)); });
    var scroll = box.scrollTop;
    box.replaceChildren(frag);
    box.scrollTop = scroll;
    var count = document.getElementById(COUNT);
    if (count) { count.textContent = T.count.replace("{n}", rows.length + (p.full ? "+" : "")); }
  }
  function same(a, b) {
    a = a || {}; b = b || {};
    return ["state", "category", "grid", "source", "overdue"].every(function (k) {
      return (a[k] || null) === (b[k] || null);
    });
  }
  function markers() {
    var p = ui.payload;
    if (!p || !window.zn || !window.zn.applyIncidents) { return; }
    var now = Date.now();
    window.zn.applyIncidents(MAP, p.rows.map(function (r) {
      return [r.id, r.lon, r.lat, r.st, overdue(r, now), r.op,
              r.ref + " " + r.cat + " · " + r.title];
    }));
  }

  function renderQueue(payload, sort, selected, filters) {
    if (payload && (!filters || same(payload.filters, filters)) &&
        !(ui.payload && same(ui.payload.filters, payload.filters) && payload.at < ui.payload.at)) {
      ui.payload = payload;  // else: rows for other filters, or older than what is shown
    }
    ui.sort = sort || "deadline";
    ui.selected = selected || null;
    if (ui.cursor === null) { ui.cursor = ui.selected; }
    render();
    markers();
    return Date.now();
  }
  function collectFilters(state, category, grid, source, overdue) {
    return {state: state || "open", category: category || null, grid: grid || null,
            source: source || null, overdue: !!(overdue && overdue.length)};
  }
  function syncOfficer(value, stored) {
    var cc = window.dash_clientside.callback_context;
    var typed = (cc.triggered || []).some(function (t) {
      return t.prop_id === "disp-officer-input.value";
    });
    if (typed) {
      var v = (value || "").trim();
      return [nu(), v || null, !!v];
    }
    return [stored || "", nu(), !!stored];
  }

  // ---- selection and keyboard
  function select(id) {
    ui.cursor = id;
    ui.selected = id;
    window.dash_clientside.set_props(SELECTED, {data: id});
    highlight();
  }
  function highlight() {
    var box = document.getElementById(LIST);
    if (!box) { return; }
    box.querySelectorAll(".q-row").forEach(function (e) {
      var id = parseInt(e.dataset.id, 10);
      e.classList.toggle("cursor", id === ui.cursor);
      e.classList.toggle("selected", id === ui.selected);
      if (id === ui.cursor) { e.scrollIntoView({block: "nearest"}); }
    });
  }
  document.addEventListener("click", function (ev) {
    var r = ev.target.closest && ev.target.closest("#" + LIST + " .q-row");
    if (r) { select(parseInt(r.dataset.id, 10)); }
  });
  document.addEventListener("keydown", function (ev) {
    if (!document.getElementById(LIST) || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var t = ev.target;
    if (t && (/^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) || t.isContentEditable ||
              (t.closest && t.closest(".dash-dropdown, .dash-dropdown-content")))) { return; }
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      if (!ui.order.length) { return; }
      var i = ui.order.indexOf(ui.cursor);
      i = i < 0 ? 0 : Math.max(0, Math.min(ui.order.length - 1,
                                           i + (ev.key === "ArrowDown" ? 1 : -1)));
      ui.cursor = ui.order[i];
      highlight();
      ev.preventDefault();
    } else if (ev.key === "Enter") {
      if (ui.cursor !== null && ui.order.indexOf(ui.cursor) >= 0) {
        select(ui.cursor);
        ev.preventDefault();
      }
    } else if (ev.key === "d" || ev.key === "D") {
      var b = document.querySelector("#disp-recs .disp-rec-btn:not([disabled])");
      if (b) { b.click(); ev.preventDefault(); }
    }
  });
  // Countdowns and overdue marks move with the clock, without a server round trip.
  setInterval(function () { if (document.getElementById(LIST)) { render(); } }, 15000);

  // ---- the selected incident on the map
  function focusMap(focus, tries) {
    if (!focus) { return nu(); }
    var map = window.zn && window.zn.maps && window.zn.maps[MAP];
    if (!map || !window.L) {
      if ((tries || 0) < 40) { setTimeout(function () { focusMap(focus, (tries || 0) + 1); }, 150); }
      return nu();
    }
    map.invalidateSize();
    if (!map.getPane("zn-focus")) { map.createPane("zn-focus").style.zIndex = 640; }
    if (map._dispFocus) { map.removeLayer(map._dispFocus); }
    var at = [focus.lat, focus.lon];
    map._dispFocus = L.layerGroup([
      L.circleMarker(at, {pane: "zn-focus", radius: 22, color: focus.overdue ? "#ff3b3b" : "#ffffff",
                          weight: 2, fill: false, className: "disp-ring", interactive: false}),
      L.circleMarker(at, {pane: "zn-focus", radius: 10, color: "#ffffff", weight: 3,
                          fillColor: window.zn.map.stateColour(focus.state), fillOpacity: 1,
                          className: "disp-focus-dot"}).bindTooltip(focus.tip)
    ]).addTo(map);
    map.setView(at, Math.max(map.getZoom(), 14), {animate: false});
    return focus.id;
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    znDisp: {renderQueue: renderQueue, collectFilters: collectFilters,
             syncOfficer: syncOfficer, focusMap: function (f) { return focusMap(f, 0); }}
  });
})();
