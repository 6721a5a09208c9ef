// Live panels drawn from plain rows pushed by the server. Replacing a Dash `children` tree
// of a few hundred components cost the renderer ~375 ms per update (measured); writing the
// DOM here costs about a millisecond. Text goes in with textContent only: never markup.
(function () {
  function el(tag, cls, text, attrs) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (attrs) { Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); }); }
    return e;
  }
  function replace(id, nodes) {
    var box = document.getElementById(id);
    if (!box) { return; }
    var frag = document.createDocumentFragment();
    nodes.forEach(function (n) { frag.appendChild(n); });
    box.replaceChildren(frag);
  }
  function feed(rows, empty) {
    if (!rows.length) { return [el("div", "feed-empty", empty)]; }
    return rows.map(function (r) {
      var item = el("div", "feed-item" + (r.overdue ? " overdue" : "") +
                    (r.priority === "urgent" ? " urgent" : ""), null,
                    {id: "inc-" + r.id, "data-ref": r.ref});
      var top = el("div", "feed-top");
      top.appendChild(el("span", "feed-time", r.time));
      top.appendChild(el("span", "feed-cat", r.category));
      top.appendChild(el("span", "feed-state " + r.state_class, r.state));
      var meta = el("div", "feed-meta");
      [r.grid, r.source, r.age].forEach(function (t) { meta.appendChild(el("span", "", t)); });
      meta.appendChild(el("span", "feed-countdown", r.countdown));
      item.appendChild(top);
      item.appendChild(el("div", "feed-title", r.title));
      item.appendChild(meta);
      return item;
    });
  }
  function kpis(cards) {
    return cards.map(function (c) {
      var k = el("div", "kpi " + (c.tone || ""));
      var attrs = {id: "kpi-" + c.key};
      // The measure, its window and the raw figure, for tests that compare screens.
      if (c.kpi) {
        attrs["data-kpi"] = c.kpi;
        attrs["data-window"] = c.window;
        attrs["data-value"] = c.raw;  // formatted once, in Python (kpis.data_value)
      }
      k.appendChild(el("div", "kpi-label", c.label));
      // The figure and its unit apart ("7.0" "小时"), so a long unit never wraps the figure.
      var value = el("div", "kpi-value", null, attrs);
      var m = /^([-+\u2212]?[\d.,:/]+%?)\s*([^\d.,:/%\s].*)$/.exec(String(c.value));
      // A share of a whole ("1600/2000") keeps the figure large and the whole as a unit,
      // so four-digit fleets fit the wall's card; the text reads the same.
      var f = m ? null : /^(\d+)(\/\d+)$/.exec(String(c.value));
      if (m) {
        value.appendChild(document.createTextNode(m[1]));
        value.appendChild(el("span", "kpi-unit", m[2]));
      } else if (f) {
        value.appendChild(document.createTextNode(f[1]));
        value.appendChild(el("span", "kpi-unit", f[2]));
        // Four digits of four (1629/2000) fit the card only a size down (zn.css).
        if (String(c.value).length >= 8) { value.className += " kpi-long"; }
      } else {
        value.textContent = String(c.value);
      }
      k.appendChild(value);
      return k;
    });
  }
  function stations(cards) {
    return cards.map(function (c) {
      var st = el("div", "station rd-" + (c.level || "green"), null,
                  {id: "station-" + c.code, title: c.reasons || ""});
      var head = el("div", "st-head");
      head.appendChild(el("span", "st-name", c.name));
      head.appendChild(el("span", "st-kind", c.kind));
      if (c.level) { head.appendChild(el("span", "st-level " + c.level, c.level_text)); }
      var stock = el("div", "st-stock");
      c.items.forEach(function (i) {
        var s = el("div", "stk" + (i.low ? " low" : ""), null, {id: "stk-" + c.code + "-" + i.sku});
        s.appendChild(el("span", "stk-name", i.name));
        s.appendChild(el("span", "stk-qty", i.quantity + i.unit));
        if (i.held) { s.appendChild(el("span", "stk-held", i.held)); }
        stock.appendChild(s);
      });
      // Teams not on standby (issue 5): who is out and in which duty status.
      var teams = el("div", "st-teams");
      (c.teams || []).forEach(function (tm) {
        var t = el("span", "st-team " + tm.status, null, {id: "team-" + tm.code});
        t.appendChild(el("span", "st-team-name", tm.name));
        t.appendChild(el("span", "st-team-status", tm.text));
        teams.appendChild(t);
      });
      var foot = el("div", "st-foot");
      c.foot.forEach(function (f) { foot.appendChild(el("span", f.cls || "", f.text)); });
      st.appendChild(head); st.appendChild(stock);
      if ((c.teams || []).length) { st.appendChild(teams); }
      st.appendChild(foot);
      return st;
    });
  }
  // Whether `value` differs from what `box` last drew (kept on the element: a page that is
  // drawn again has new, empty boxes). A panel sent again unchanged is not redrawn: each
  // redraw is a style, layout and paint pass, and restarts what the panel animates.
  function changed(box, value) {
    var text = JSON.stringify(value);
    if (box.__znDrawn === text) { return false; }
    box.__znDrawn = text;
    return true;
  }
  function draw(id, value, build) {
    var box = document.getElementById(id);
    if (box && changed(box, value)) { replace(id, build()); }
  }
  function renderPanels(frame) {
    if (!frame) { return window.dash_clientside.no_update; }
    if (frame.feed) {
      draw(frame.target.feed, [frame.feed, frame.empty],
           function () { return feed(frame.feed, frame.empty); });
    }
    if (frame.kpis) { draw(frame.target.kpis, frame.kpis, function () { return kpis(frame.kpis); }); }
    if (frame.stations) { replace(frame.target.stations, stations(frame.stations)); }
    if (frame.markers && window.zn && window.zn.applyIncidents) {
      window.zn.applyIncidents(frame.target.map, frame.markers);  // a full frame: every one
    }
    if (frame.marker_changes && window.zn && window.zn.applyIncidentChanges) {
      window.zn.applyIncidentChanges(frame.target.map, frame.marker_changes);
    }
    // The wall's own panels (grid heat, punctuality, alerts, 投屏): assets/zn_wall.js.
    if (window.zn && window.zn.wallExtras) { window.zn.wallExtras(frame); }
    return frame.seq;
  }
  window.zn = Object.assign(window.zn || {}, {el: el, changed: changed});
  // The pushed panels go straight here on a page that shows them (assets/zn_direct.js).
  var direct = window.zn.direct, wall = window.zn.ids.wall, desk = window.zn.ids.console;
  if (direct) {
    [[wall.PANELS, wall.STAGE], [desk.PANELS, desk.ROOT]].forEach(function (pair) {
      direct.apply[pair[0]] = function (props) {
        if (!document.getElementById(pair[1]) || !props.data) { return false; }
        renderPanels(props.data);
        return true;
      };
    });
    [wall.STATUS, wall.GAP, wall.SEQ, wall.HEARTBEAT].forEach(function (id) {
      direct.apply[id] = direct.text(id);
    });
  }
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    zn: Object.assign({}, (window.dash_clientside || {}).zn, {renderPanels: renderPanels})
  });
})();
