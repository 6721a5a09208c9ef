/* /field's 随手拍 form: category, a photo from the phone's camera, the position from the phone
   or a tap on the map, a short text. A report goes into the phone's outbox at once
   (assets/zn_queue.js; the photo itself in IndexedDB under the report's idempotency key,
   localStorage holds too little) and is sent as a multipart form to POST
   /api/v1/field/reports when the connection allows; a retried key is one work order.
   Drawn with textContent only; the words come from the page (its language). */
(function () {
  "use strict";
  var DB = "zn-field", STORE = "photos";
  var view = {cfg: null, pos: null, file: null, preview: null, notes: [], pin: null};
  var outbox = null;

  // ------------------------------------------------------------ the photos on the phone
  function db() {
    return new Promise(function (resolve, reject) {
      var req = window.indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function stored(mode, act) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var tx = d.transaction(STORE, mode), req = act(tx.objectStore(STORE));
        tx.oncomplete = function () { d.close(); resolve(req ? req.result : undefined); };
        tx.onerror = function () { d.close(); reject(tx.error); };
      });
    });
  }
  function keepPhoto(key, file) {
    return stored("readwrite", function (s) { return s.put({blob: file, name: file.name}, key); });
  }
  function photoOf(key) { return stored("readonly", function (s) { return s.get(key); }); }
  function forget(key) { return stored("readwrite", function (s) { return s["delete"](key); }); }

  // ------------------------------------------------------------ the outbox
  function outboxOf() {
    if (!outbox) {
      outbox = window.zn_queue.create({
        name: "zn-field-queue", prefix: "fld-", send: send,
        sent: function (e, body) { note("ok", L("snap_sent").replace("{ref}", body.ref || "")); },
        refused: function (e, msg) { note("error", L("snap_refused") + msg); },
        dropped: function (e) { if (e.photo) { forget(e.key).catch(function () {}); } },
        changed: drawQueue
      });
    }
    return outbox;
  }
  function send(e) {
    var lang = (view.cfg && view.cfg.lang) || "zh";
    var got = e.photo ? photoOf(e.key).catch(function () { return null; }) : Promise.resolve(null);
    return got.then(function (kept) {
      var form = new FormData();
      ["category", "text", "lon", "lat", "key"].forEach(function (k) { form.append(k, String(e[k])); });
      if (kept && kept.blob) { form.append("photo", kept.blob, kept.name || "photo.jpg"); }
      return fetch("/api/v1/field/reports", {
        method: "POST", credentials: "same-origin", body: form,
        headers: {"X-CSRFToken": window.zn_queue.csrf(), "Accept-Language": lang}
      });
    });
  }

  // ------------------------------------------------------------ drawing
  function L(key) { return (view.cfg && view.cfg.labels[key]) || key; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function byId(id) { return document.getElementById(id); }
  function note(kind, text) {
    view.notes.push({kind: kind, text: text});
    view.notes = view.notes.slice(-3);
    drawQueue();
  }
  function drawQueue() {
    var box_ = byId("field-snap-status");
    if (!box_ || !view.cfg) { return; }
    var n = outboxOf().items().length;
    box_.textContent = "";
    var q = el("div", "snap-queue" + (n ? " snap-waiting" : ""),
               n ? L("snap_queue").replace("{n}", n) : L("snap_synced"));
    q.id = "field-snap-queue";
    q.setAttribute("data-n", String(n));
    box_.appendChild(q);
    if (outboxOf().state.offline && n) { box_.appendChild(el("div", "snap-offline", L("snap_offline"))); }
    view.notes.forEach(function (m) {
      box_.appendChild(el("div", "snap-note snap-" + m.kind, m.text));
    });
  }
  function drawWhere() {
    var where = byId("field-snap-where");
    if (!where) { return; }
    var p = view.pos;
    where.textContent = !p ? L("snap_map_hint") :
      (p.how === "phone" ? L("snap_located").replace("{m}", Math.round(p.acc || 0)) : L("snap_tapped")) +
      " · " + p.lat.toFixed(5) + ", " + p.lon.toFixed(5);
    where.className = "snap-where" + (p ? " snap-has-pos" : "");
  }
  function pinAt(p, fly) {
    var map = window.zn && window.zn.maps && window.zn.maps[view.cfg.map];
    if (!map || !window.L) { return; }
    if (view.pin) { view.pin.setLatLng([p.lat, p.lon]); }
    else {
      view.pin = window.L.circleMarker([p.lat, p.lon], {radius: 10, weight: 3, color: "#ff3b3b",
        fillColor: "#ffffff", fillOpacity: 1, className: "snap-pin", interactive: false}).addTo(map);
    }
    if (fly) { map.setView([p.lat, p.lon], Math.max(map.getZoom(), 16)); }
  }
  function setPos(p, fly) { view.pos = p; drawWhere(); pinAt(p, fly); }

  /* The map is dash-leaflet's; its Leaflet object appears a moment after the page. */
  function hookMap() {
    var map = window.zn && window.zn.maps && window.zn.maps[view.cfg.map];
    if (!map) { window.setTimeout(hookMap, 200); return; }
    if (map._znSnap) { return; }
    map._znSnap = true;
    map.on("click", function (ev) { setPos({lat: ev.latlng.lat, lon: ev.latlng.lng, how: "map"}, false); });
    if (view.pos) { pinAt(view.pos, false); }
  }

  function drawForm() {
    var root = byId("field-snap-form");
    if (!root || root.firstChild) { return; }
    var cfg = view.cfg;
    var cat = el("select", "snap-category");
    cat.id = "field-snap-category";
    cat.setAttribute("aria-label", L("snap_category"));
    var first = el("option", null, L("snap_pick_category"));
    first.value = "";
    cat.appendChild(first);
    cfg.categories.forEach(function (c) {
      var o = el("option", null, c[1]);
      o.value = c[0];
      cat.appendChild(o);
    });
    var pick = el("label", "snap-photo-btn");
    pick.appendChild(el("span", null, L("snap_photo")));
    var file = el("input");
    file.type = "file";
    file.accept = "image/jpeg,image/png,image/webp,image/*";
    file.setAttribute("capture", "environment");
    file.id = "field-snap-photo";
    pick.appendChild(file);
    var preview = el("img", "snap-preview");
    preview.id = "field-snap-preview";
    preview.alt = L("snap_photo_alt");
    preview.hidden = true;
    var text = el("textarea", "snap-text");
    text.id = "field-snap-text";
    text.maxLength = 500;
    text.placeholder = L("snap_text");
    file.addEventListener("change", function () {
      var f = file.files && file.files[0];
      if (view.preview) { URL.revokeObjectURL(view.preview); view.preview = null; }
      view.file = null;
      preview.hidden = true;
      if (!f) { return; }
      if (f.size > cfg.max_bytes) {
        note("error", L("snap_too_big").replace("{mb}", cfg.max_mb));
        file.value = "";
        return;
      }
      view.file = f;
      view.preview = URL.createObjectURL(f);
      preview.src = view.preview;
      preview.hidden = false;
    });
    root.append(el("label", "snap-label", L("snap_category")), cat, pick, preview, text);

    var send_ = byId("field-snap-send");
    var row = el("div", "snap-pos-row");
    var locate = el("button", "snap-locate", L("snap_locate"));
    locate.type = "button";
    locate.id = "field-snap-locate";
    var where = el("span", "snap-where");
    where.id = "field-snap-where";
    row.append(locate, where);
    var submit = el("button", "snap-submit", L("snap_submit"));
    submit.type = "button";
    submit.id = "field-snap-submit";
    var status = el("div", "snap-status");
    status.id = "field-snap-status";
    status.setAttribute("role", "status");
    send_.append(row, submit, status);

    locate.addEventListener("click", function () {
      if (!navigator.geolocation) { note("error", L("snap_geo_failed")); return; }
      where.textContent = L("snap_locating");
      navigator.geolocation.getCurrentPosition(function (p) {
        setPos({lat: p.coords.latitude, lon: p.coords.longitude, acc: p.coords.accuracy,
                how: "phone"}, true);
      }, function () { drawWhere(); note("error", L("snap_geo_failed")); },
      {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
    });
    submit.addEventListener("click", function () {
      if (!cat.value) { note("error", L("snap_no_category")); return; }
      if (!view.pos) { note("error", L("snap_no_position")); return; }
      var item = {key: window.zn_queue.newKey("fld-"), category: cat.value,
                  text: text.value.trim(), lon: view.pos.lon.toFixed(6),
                  lat: view.pos.lat.toFixed(6), at: new Date().toISOString(),
                  photo: !!view.file};
      var kept = view.file ? keepPhoto(item.key, view.file) : Promise.resolve();
      submit.disabled = true;
      kept.then(function () {
        outboxOf().push(item);
        note("info", L("snap_queued"));
        cat.value = ""; text.value = ""; file.value = "";
        if (view.preview) { URL.revokeObjectURL(view.preview); view.preview = null; }
        view.file = null; preview.hidden = true;
      }, function (err) { note("error", L("snap_refused") + String(err)); })
        .then(function () { submit.disabled = false; });
    });
    drawWhere();
    drawQueue();
    hookMap();
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    zn_field: {
      render: function (cfg) {
        if (!cfg) { return ""; }
        view.cfg = cfg;
        drawForm();
        outboxOf().flush();
        return "";
      }
    }
  });
})();
