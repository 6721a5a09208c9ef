// The wall's added panels, drawn from the rows the server pushes (textContent only):
// grid heat on the map, bus punctuality, station readiness badges, the alerts ticker (in
// pages that turn, not a scrolling line).
// No mouse needed: highlights rotate on their own, a new alert (overdue, SOS, a bus alert)
// or a 投屏 from the console takes the map's focus for a few seconds. Sound is off unless
// the page was opened with ?sound=1.
(function () {
  var FOCUS_MS = 7000, CAST_MS = 20000, ROTATE_MS = 10000, MAX_QUEUE = 5;
  var seenAlerts = null;  // null until the first frame: alerts present at load do not focus
  var queue = [], focusing = null, seenCasts = {}, spot = -1, spotId = null;

  function el(tag, cls, text, attrs) { return window.zn.el(tag, cls, text, attrs); }
  function stage() { return document.getElementById(window.zn.ids.wall.STAGE) || {dataset: {}}; }
  function mapOf(frame) { return window.zn.maps[frame.target.map]; }

  function punctuality(box, p) {
    var nodes = [];
    if (!p.available) {
      nodes.push(el("div", "punct-na", p.text));
    } else {
      var top = el("div", "punct-top");
      top.appendChild(el("span", "punct-rate", p.rate === null ? "—" : p.rate + "%",
                         {id: "punct-rate"}));
      var counts = el("div", "punct-counts");
      p.counts.forEach(function (c) {
        counts.appendChild(el("span", "punct-c punct-" + c.key, c.label + " " + c.n));
      });
      top.appendChild(counts);
      nodes.push(top);
      p.late.forEach(function (r) {
        var row = el("div", "punct-late");
        row.appendChild(el("span", "", r.plate));
        row.appendChild(el("span", "punct-route", r.route));
        row.appendChild(el("span", "punct-delay", "+" + r.delay + "′"));
        nodes.push(row);
      });
    }
    (p.unfit || []).forEach(function (r) {  // 不宜出车: shown whether or not the bus runs
      var row = el("div", "punct-unfit", null, {"data-plate": r.plate});
      row.appendChild(el("span", "", r.plate));
      row.appendChild(el("span", "fleet-not-fit-mark", r.text));
      nodes.push(row);
    });
    box.replaceChildren.apply(box, nodes);
  }

  function readiness(rows) {
    rows.forEach(function (r) {
      var card = document.getElementById("station-" + r.code);
      if (!card) { return; }
      var head = card.querySelector(".st-head");
      var old = card.querySelectorAll(".ready-badge, .ready-why");
      old.forEach(function (n) { n.remove(); });
      head.insertBefore(el("span", "ready-badge ready-" + r.level, "●",
                           {title: r.level, "data-level": r.level}), head.firstChild);
      if (r.reasons && r.reasons.length) {
        card.appendChild(el("div", "ready-why ready-" + r.level, r.reasons.join(" · ")));
      }
    });
  }

  // The alerts ticker shows a page of alerts at a time, as many as fit on its line, and turns
  // to the next page every few seconds (ZN_WALL_PAGE_S, on the stage). Still text reads
  // across a room, and nothing moves between turns: a scrolling line was redrawn a dozen
  // times a second, which without a GPU (the hall's PC, this box) each wall paid in software
  // compositing, ~10 % of a core.
  function ticker(box, alerts) {
    var track = el("div", "ticker-track" + (alerts.length ? " paged" : ""));
    if (!alerts.length) {
      track.textContent = stage().dataset.noAlerts || "";
    }
    alerts.forEach(function (a) {
      var item = el("span", "tick tick-" + a.kind, null, {"data-key": a.key});
      item.appendChild(el("b", "", a.label));
      item.appendChild(el("span", "", " " + a.time + " " + a.text));
      track.appendChild(item);
    });
    box.replaceChildren(track);
    turnTo(box, 0);  // new alerts: the first page, where the most urgent are
  }

  // Pages are the lines the track wraps into (the window shows one), found afresh at each turn
  // from where the alerts sit, so a resized wall or a font that loaded late pages right.
  function turnTo(box, page) {
    var track = box.firstChild, tops = [];
    box.querySelectorAll(".tick").forEach(function (n) {  // offsetTop ignores the transform
      if (tops.indexOf(n.offsetTop) < 0) { tops.push(n.offsetTop); }
    });
    var pages = Math.max(1, tops.length);
    page = page % pages;
    if (track) {
      track.style.transform = page ? "translateY(" + (tops[0] - tops[page]) + "px)" : "";
    }
    box.setAttribute("data-page", page + 1);
    box.setAttribute("data-pages", pages);
    var count = box.parentNode && box.parentNode.querySelector(".ticker-pages");
    if (count) {
      count.textContent = pages > 1 ? (page + 1) + "/" + pages : "";
      count.hidden = pages < 2;
    }
  }

  function turnAll(step) {
    document.querySelectorAll(".ticker-window[data-pages]").forEach(function (box) {
      turnTo(box, Number(box.getAttribute("data-page")) - 1 + step);  // data-page is 1-based
    });
  }
  (function turn() {  // until the stage is drawn, look again in a second
    var ms = Number(stage().dataset.pageMs);
    setTimeout(function () { if (ms) { turnAll(1); } turn(); }, ms || 1000);
  })();
  // A font that arrives late changes how much fits on a line: count the pages again.
  if (document.fonts) {
    document.fonts.addEventListener("loadingdone", function () { turnAll(0); });
  }

  function beep() {
    if (stage().dataset.sound !== "1") { return; }
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = 880; g.gain.value = 0.15;
      o.connect(g); g.connect(ctx.destination); o.start(); o.stop(ctx.currentTime + 0.35);
    } catch (e) { /* no audio device: the visual focus is enough */ }
  }

  function showFocus(frame, item) {
    var box = document.getElementById(frame.target.focus), map = mapOf(frame);
    if (!box || !map) { return; }
    focusing = item;
    box.replaceChildren(el("div", "wf-label", item.label), el("div", "wf-text", item.text));
    if (item.img) {  // a video alert's snapshot (an allowed origin only: the server checks)
      box.appendChild(el("img", "wf-img", null, {src: item.img, alt: item.label,
                                                  referrerpolicy: "no-referrer"}));
    }
    if (item.photo) {  // 随手拍: the scene as the grid worker saw it (a random id, served guarded)
      var img = el("img", "wf-photo");
      img.src = "/api/v1/photos/" + encodeURIComponent(item.photo) + "/thumb";
      img.alt = "";
      box.appendChild(img);
    }
    box.className = "wall-focus wf-" + item.kind;
    box.setAttribute("data-key", item.key);
    box.hidden = false;
    if (!map._znHome) { map._znHome = map.getBounds(); }
    if (map._znRing) { map.removeLayer(map._znRing); }
    if (item.lat !== undefined) {
      // A DOM ring blinking on the screens' beat, and the map cut to it, not flown or zoomed in
      // an animation: each animated frame repainted the whole map (2,000 buses' canvas
      // included) and was composited in software; with bus alerts coming every few seconds a
      // county's wall spent more frames zooming than showing (bench/README.md).
      map._znRing = L.marker([item.lat, item.lon], {interactive: false, keyboard: false,
        icon: L.divIcon({className: "zn-focus-ring" + (item.kind === "cast" ? " cast" : ""),
                         iconSize: [60, 60]})}).addTo(map);
      map.setView([item.lat, item.lon], Math.max(map.getZoom(), 15), {animate: false});
    }
    if (item.kind !== "cast") { beep(); }
    clearTimeout(showFocus._timer);
    showFocus._timer = setTimeout(function () {
      box.hidden = true;
      focusing = null;
      if (map._znRing) { map.removeLayer(map._znRing); map._znRing = null; }
      if (queue.length) { showFocus(frame, queue.shift()); return; }
      if (map._znHome) { map.fitBounds(map._znHome, {animate: false}); }
    }, item.kind === "cast" ? CAST_MS : FOCUS_MS);
  }

  function alertsArrived(frame, alerts) {
    var now = {};
    alerts.forEach(function (a) { now[a.key] = true; });
    if (seenAlerts !== null) {
      alerts.forEach(function (a) { if (!seenAlerts[a.key]) { queue.push(a); } });
    }
    seenAlerts = now;  // an alert that clears and comes back is news again
    // A sweep can make dozens overdue at once: the hall sees the newest few, the ticker the rest.
    if (queue.length > MAX_QUEUE) { queue = queue.slice(queue.length - MAX_QUEUE); }
    if (!focusing && queue.length) { showFocus(frame, queue.shift()); }
  }

  function castArrived(frame, cast) {
    if (!cast || !cast.fresh || seenCasts[cast.key]) { return; }
    seenCasts[cast.key] = true;
    var label = stage().dataset.castLabel || "投屏";
    var item = {key: cast.key, kind: "cast", label: label + " · " + (cast.by || ""),
                text: cast.ref + " " + cast.title, lon: cast.lon, lat: cast.lat, id: cast.id,
                img: cast.img, photo: cast.photo};
    queue = queue.filter(function (q) { return q.kind !== "cast"; });
    showFocus(frame, item);  // a cast goes first: the hall follows the officer
    var marker = mapOf(frame) && mapOf(frame)._znIncidents &&
                 mapOf(frame)._znIncidents._byId[cast.id];
    if (marker) { marker.openTooltip(); }
  }

  // Highlights rotate: every few seconds the next open incident of the feed is lit and its
  // marker's tooltip opened, unless an alert or a cast holds the focus.
  var lastFrame = null;
  setInterval(function () {
    if (focusing || !lastFrame) { return; }
    var items = document.querySelectorAll("#home-feed .feed-item");
    if (!items.length) { return; }
    document.querySelectorAll("#home-feed .feed-item.spot").forEach(function (n) {
      n.classList.remove("spot");
    });
    spot = (spot + 1) % Math.min(items.length, 8);
    var item = items[spot];
    item.classList.add("spot");
    spotId = item.id;
    var id = (item.id || "").replace("inc-", ""), map = mapOf(lastFrame);
    var layer = map && map._znIncidents;
    if (layer && layer._byId[id]) { layer._byId[id].openTooltip(); }
  }, ROTATE_MS);

  window.zn.wallExtras = function (frame) {
    if (!frame.target || !frame.target.punct) { return; }  // not the wall (the console)
    lastFrame = frame;
    if (frame.feed && spotId) {  // the feed was redrawn: keep the lit item lit
      var lit = document.getElementById(spotId);
      if (lit) { lit.classList.add("spot"); }
    }
    if (frame.heat && window.zn.renderGrids) {
      window.zn.renderGrids(Object.assign({map: frame.target.map, seq: frame.seq}, frame.heat));
    }
    var punct = document.getElementById(frame.target.punct);
    if (frame.punct && punct && window.zn.changed(punct, frame.punct)) {
      punctuality(punct, frame.punct);
    }
    if (frame.readiness) { readiness(frame.readiness); }
    var tick = document.getElementById(frame.target.ticker);
    if (frame.alerts && tick) {
      // The same alerts again (the server re-reads them as buses move): the ticker keeps
      // its page instead of starting over from the first.
      if (window.zn.changed(tick, frame.alerts)) { ticker(tick, frame.alerts); }
      alertsArrived(frame, frame.alerts);
    }
    if (frame.cast) { castArrived(frame, frame.cast); }
  };
})();
