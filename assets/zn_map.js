// Leaflet drawing functions referenced from Python as Namespace("zn", "map")(name).
// Keep a handle on every Leaflet map by its container id, so live layers can be updated
// in place (dash-leaflet's GeoJSON rebuilds every feature when its data changes).
window.zn = Object.assign({}, window.zn, {maps: {}});
if (window.L) {
  L.Map.addInitHook(function () {
    var id = this.getContainer().id;
    if (id) { window.zn.maps[id] = this; }
  });
}
var znStateColours = {};
window.zn = Object.assign({}, window.zn, {
  map: {
    // A state's colour, from the page's --st-<state> (Python's lifecycle.STATE_COLOURS, fixed
    // for the page's life): read once per state, as a style read costs a style pass.
    stateColour: function (state) {
      var held = znStateColours[state];
      if (held === undefined) {
        var v = getComputedStyle(document.documentElement).getPropertyValue("--st-" + state);
        held = (v && v.trim()) || "";
        if (held) { znStateColours[state] = held; }  // not yet styled: ask again next time
      }
      return held || "gray";
    },
    baseStyle: function (feature) {
      var p = feature.properties || {};
      switch (p.kind) {
        case "boundary": return {color: "#7fb2ff", weight: 3, dashArray: "8 6", fill: false, opacity: 0.9};
        case "river": return {color: "#2d6cdf", weight: 5, opacity: 0.8};
        case "water": return {color: "#2d6cdf", weight: 1, fillColor: "#1f4fa8", fillOpacity: 0.6};
        case "road":
          if (p["class"] === "county") { return {color: "#c9a45c", weight: 5, opacity: 0.85}; }
          if (p["class"] === "town") { return {color: "#8c8f99", weight: 3, opacity: 0.8}; }
          return {color: "#5d6270", weight: 1.5, opacity: 0.8};
        default: return {color: "#555", weight: 1};
      }
    },
    basePoint: function (feature, latlng) {
      var p = feature.properties || {};
      // The wall carries its language on the stage; every other page in ?lang=.
      var stage = document.getElementById(window.zn.ids.wall.STAGE);
      var lang = (stage && stage.dataset.lang) ||
                 new URLSearchParams(location.search).get("lang") || "zh";
      var label = (lang === "en" && p.name_en) ? p.name_en : (p.name || "");
      return L.marker(latlng, {
        interactive: false, keyboard: false,
        icon: L.divIcon({className: "zn-place zn-place-" + (p.kind || "place"),
                         html: "<span>" + label.replace(/[<>&]/g, "") + "</span>",
                         iconSize: null})
      });
    },
    grid1Style: function () {
      return {color: "#9ad0ff", weight: 2.5, fill: false, opacity: 0.9};
    },
    grid3Style: function () {
      return {color: "#3b5b86", weight: 1, fillColor: "#10213a", fillOpacity: 0.35, opacity: 0.8};
    },
    stationPoint: function (feature, latlng) {
      var p = feature.properties || {};
      var big = p.kind === "centre";
      return L.marker(latlng, {
        keyboard: false,
        icon: L.divIcon({className: "zn-station" + (big ? " zn-station-centre" : ""),
                         html: "<span>✚</span>", iconSize: big ? [34, 34] : [26, 26]})
      });
    },
  }
});

// Bus markers moved in place on one canvas: a frame carries only the buses that moved since
// the last frame (or all of them when `full`); the return value acknowledges the frame, and
// the server sends the next one only after that, so a slow wall PC never builds a backlog.
// Canvas, not DOM markers: 500 moving DOM markers cost every screen a style, layout and
// paint pass per second (measured as long tasks in bench/latency.py).
(function () {
  if (!window.L) { return; }
  var TEXT = {
    zh: {onboard: "在车学生", route: "线路"}, en: {onboard: "on board", route: "route"}
  };
  // The arrow, pointing up, around (0, 0) for a marker of radius s.
  function arrowPath(ctx, s, cos, sin, cx, cy) {
    function pt(x, y) { return [cx + x * cos - y * sin, cy + x * sin + y * cos]; }
    var tip = pt(0, -s * 1.3), left = pt(-s * 0.8, s * 0.9), back = pt(0, s * 0.45),
        right = pt(s * 0.8, s * 0.9);
    ctx.beginPath();
    ctx.moveTo(tip[0], tip[1]); ctx.lineTo(left[0], left[1]);
    ctx.lineTo(back[0], back[1]); ctx.lineTo(right[0], right[1]); ctx.closePath();
  }
  // Each arrow is drawn once per look (colours, size, heading in 5° steps) into a small
  // canvas of its own, then copied where each bus is: a wall's 2,000 buses as 2,000 filled
  // and stroked paths cost its renderer ~12 ms of rasterising per frame, on the page's main
  // thread when the frame is committed (a CDP trace, bench/README.md); copied sprites cost
  // a fraction of it, and a heading is never off by more than 2.5°.
  var SPRITES = {}, STEP = 5;
  function sprite(o, s) {
    var turn = (Math.round((o.heading || 0) / STEP) * STEP) % 360;
    var key = [o.fillColor, o.color, o.weight, s, turn].join("|");
    var c = SPRITES[key];
    if (!c) {
      var half = Math.ceil(s * 1.3 + o.weight + 1);
      c = document.createElement("canvas");
      c.width = c.height = half * 2;
      var g = c.getContext("2d"), a = turn * Math.PI / 180;
      arrowPath(g, s, Math.cos(a), Math.sin(a), half, half);
      g.globalAlpha = o.fillOpacity; g.fillStyle = o.fillColor; g.fill();
      if (o.stroke && o.weight) {
        g.globalAlpha = o.opacity; g.lineWidth = o.weight; g.strokeStyle = o.color;
        g.lineJoin = "round"; g.stroke();
      }
      c._half = half;
      SPRITES[key] = c;
    }
    return c;
  }
  // A circle marker that paints an arrow pointing along the bus's heading.
  var BusArrow = L.CircleMarker.extend({
    options: {heading: 0, radius: 13, weight: 2, color: "#1a1300", fillColor: "#ffd400",
              fillOpacity: 1, opacity: 1},
    setHeading: function (deg) { this.options.heading = deg; return this.redraw(); },
    _updatePath: function () {
      var r = this._renderer;
      if (!r._drawing || this._empty()) { return; }
      var c = sprite(this.options, this._radius), p = this._point;
      r._ctx.drawImage(c, Math.round(p.x) - c._half, Math.round(p.y) - c._half);
    }
  });
  function tooltip(row, lang) {
    var t = TEXT[lang] || TEXT.zh;
    var s = row[0] + " · " + t.route + " " + row[5] + " · " + row[4] + " km/h";
    if (row[6] !== null && row[6] !== undefined) { s += " · " + t.onboard + " " + row[6]; }
    return s;
  }
  function fill(row) { return row[4] >= 3 ? "#ffd400" : "#b3a35a"; }
  function applyBuses(frame) {
    var nu = window.dash_clientside.no_update;
    if (!frame) { return nu; }
    var map = window.zn.maps[frame.map];
    if (!map) { return nu; }
    var layer = map._znBuses;
    if (!layer) {
      layer = map._znBuses = L.layerGroup().addTo(map);
      layer._byPlate = {};
      // Above incidents and stations: a moving bus must never hide under a marker.
      if (!map.getPane("zn-buses")) { map.createPane("zn-buses").style.zIndex = 650; }
      layer._renderer = L.canvas({padding: 0, pane: "zn-buses"});
    }
    var byPlate = layer._byPlate, seen = {};
    frame.rows.forEach(function (row) {
      var plate = row[0], latlng = [row[2], row[1]];
      seen[plate] = true;
      var m = byPlate[plate];
      if (!m) {
        m = byPlate[plate] = new BusArrow(latlng, {renderer: layer._renderer, pane: "zn-buses",
                                                    heading: row[3], fillColor: fill(row)});
        m.bindTooltip(tooltip(row, frame.lang));
        m.addTo(layer);
      } else {
        m.options.heading = row[3];
        m.options.fillColor = fill(row);
        m.setLatLng(latlng);
        var text = tooltip(row, frame.lang);
        if (text !== m._znTip) { m.setTooltipContent(text); }
        m._znTip = text;
      }
      m._znRow = row;
    });
    if (frame.full) {
      Object.keys(byPlate).forEach(function (plate) {
        if (!seen[plate]) { layer.removeLayer(byPlate[plate]); delete byPlate[plate]; }
      });
    }
    return frame.seq;
  }
  // Where a bus is drawn, in map-container pixels (for tests and the kiosk highlight).
  window.zn.busPoint = function (mapId, plate) {
    var map = window.zn.maps[mapId], layer = map && map._znBuses;
    var m = layer && layer._byPlate[plate];
    if (!m) { return null; }
    var p = map.latLngToContainerPoint(m.getLatLng());
    return {x: p.x, y: p.y, heading: m.options.heading};
  };
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    zn: Object.assign({}, (window.dash_clientside || {}).zn, {applyBuses: applyBuses})
  });
  // The wall's bus frames go straight here (assets/zn_direct.js), and the server's question
  // "which frame did you draw?" (its flow control) is answered from the map that drew it: a
  // map drawn anew (the page shown again) has drawn nothing, as Dash's fresh store says.
  var direct = window.zn.direct, wall = window.zn.ids.wall;
  if (direct) {
    var drawn = {seq: 0, map: null};
    direct.apply[wall.BUS_FRAME] = function (props) {
      var frame = props.data;
      if (!document.getElementById(wall.STAGE) || !frame) { return false; }
      var seq = applyBuses(frame);
      if (typeof seq === "number") { drawn = {seq: seq, map: window.zn.maps[frame.map]}; }
      return true;
    };
    direct.answer[wall.BUS_ACK] = function (properties) {
      if (!document.getElementById(wall.STAGE)) { return undefined; }
      var map = drawn.map, live = map && window.zn.maps[map.getContainer().id] === map;
      var out = {};
      properties.forEach(function (p) { if (p === "data") { out.data = live ? drawn.seq : 0; } });
      return out;
    };
  }
})();

// Incident markers kept by id and restyled only when their state changes. A full frame lists
// every incident the screen should show, so markers not in it are removed; a delta
// (`marker_changes`, dashboard/screens/frames.py) carries the changed markers and the ids
// that left.
(function () {
  function style(row) {
    var overdue = row[4], open = row[5];
    return {
      radius: open ? (overdue ? 11 : 9) : 6, color: overdue ? "#ff3b3b" : "#0b1220",
      weight: overdue ? 3 : 1.5, fillColor: window.zn.map.stateColour(row[3]),
      fillOpacity: open ? 0.95 : 0.55
    };
  }
  function classes(row) {
    return "zn-inc zn-inc-" + row[0] + " zn-st-" + row[3] + (row[4] ? " zn-overdue" : "");
  }
  function layerOf(mapId) {
    var map = window.zn.maps[mapId];
    if (!map) { return null; }
    var layer = map._znIncidents;
    if (!layer) {
      layer = map._znIncidents = L.layerGroup().addTo(map);
      layer._byId = {};
    }
    return layer;
  }
  function put(layer, row) {
    var byId = layer._byId, id = row[0], key = row[3] + "|" + row[4] + "|" + row[5];
    var m = byId[id];
    if (!m) {
      m = byId[id] = L.circleMarker([row[2], row[1]],
                                    Object.assign(style(row), {className: classes(row)}));
      m._znKey = key;
      m._znTip = row[6];
      m.bindTooltip(row[6]);
      m.addTo(layer);
      return;
    }
    if (m._znKey !== key) {
      m._znKey = key;
      m.setStyle(style(row));
      var path = m.getElement();
      if (path) { path.setAttribute("class", classes(row) + " leaflet-interactive"); }
    }
    if (m._znTip !== row[6]) { m._znTip = row[6]; m.setTooltipContent(row[6]); }
  }
  function drop(layer, id) {
    var m = layer._byId[id];
    if (m) { layer.removeLayer(m); delete layer._byId[id]; }
  }
  window.zn.applyIncidents = function (mapId, rows) {
    var layer = layerOf(mapId);
    if (!layer || !rows) { return; }
    var seen = {};
    rows.forEach(function (row) { seen[row[0]] = true; put(layer, row); });
    Object.keys(layer._byId).forEach(function (id) { if (!seen[id]) { drop(layer, id); } });
  };
  window.zn.applyIncidentChanges = function (mapId, changes) {
    var layer = layerOf(mapId);
    if (!layer || !changes) { return; }
    (changes.rows || []).forEach(function (row) { put(layer, row); });
    (changes.gone || []).forEach(function (id) { drop(layer, id); });
  };
})();
