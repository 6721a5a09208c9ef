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
window.zn = Object.assign({}, window.zn, {
  map: {
    STATE_COLOURS: {
      reported: "#ff9f1c", accepted: "#ffd166", dispatched: "#4cc9f0",
      in_progress: "#4895ef", resolved: "#2ec4b6", closed: "#6c7a89", returned: "#c77dff"
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
      var lang = (document.getElementById("zn-stage") || {dataset: {}}).dataset.lang;
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

// Bus markers moved in place: a frame carries only the buses that moved since the last
// frame (or all of them when `full`); the return value acknowledges the frame, and the
// server sends the next one only after that, so a slow wall PC never builds a backlog.
(function () {
  var TEXT = {
    zh: {onboard: "在车学生", route: "线路"}, en: {onboard: "on board", route: "route"}
  };
  function tooltip(row, lang) {
    var t = TEXT[lang] || TEXT.zh;
    var s = row[0] + " · " + t.route + " " + row[6] + " · " + row[5] + " km/h";
    if (row[7] !== null && row[7] !== undefined) { s += " · " + t.onboard + " " + row[7]; }
    return s;
  }
  function icon(row) {
    var moving = row[5] >= 3;
    return L.divIcon({
      className: "zn-bus zn-bus-" + row[1] + (moving ? " moving" : " stopped"),
      iconSize: [26, 26],
      html: '<div class="zn-bus-arrow" style="transform: rotate(' + row[4] + 'deg)"></div>'
    });
  }
  function applyBuses(frame) {
    var nu = window.dash_clientside.no_update;
    if (!frame || !window.L) { return nu; }
    var map = window.zn.maps[frame.map];
    if (!map) { return nu; }
    var layer = map._znBuses;
    if (!layer) {
      layer = map._znBuses = L.layerGroup().addTo(map);
      layer._byPlate = {};
    }
    var byPlate = layer._byPlate, seen = {};
    frame.rows.forEach(function (row) {
      var plate = row[0], latlng = [row[3], row[2]];
      seen[plate] = true;
      var m = byPlate[plate];
      if (!m) {
        m = byPlate[plate] = L.marker(latlng, {icon: icon(row), keyboard: false,
                                               zIndexOffset: 1000});
        m.bindTooltip(tooltip(row, frame.lang));
        m.addTo(layer);
        return;
      }
      m.setLatLng(latlng);
      var el = m.getElement();
      if (el) {
        el.firstChild.style.transform = "rotate(" + row[4] + "deg)";
        el.classList.toggle("moving", row[5] >= 3);
        el.classList.toggle("stopped", row[5] < 3);
      }
      m.setTooltipContent(tooltip(row, frame.lang));
    });
    if (frame.full) {
      Object.keys(byPlate).forEach(function (plate) {
        if (!seen[plate]) { layer.removeLayer(byPlate[plate]); delete byPlate[plate]; }
      });
    }
    return frame.seq;
  }
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    zn: Object.assign({}, (window.dash_clientside || {}).zn, {applyBuses: applyBuses})
  });
})();

// Incident markers kept by id and restyled only when their state changes; the frame lists
// every incident the screen should show, so markers not in it are removed.
(function () {
  var COLOURS = {
    reported: "#ff9f1c", accepted: "#ffd166", dispatched: "#4cc9f0",
    in_progress: "#4895ef", resolved: "#2ec4b6", closed: "#6c7a89", returned: "#c77dff"
  };
  function style(row) {
    var overdue = row[4], open = row[5];
    return {
      radius: open ? (overdue ? 11 : 9) : 6, color: overdue ? "#ff3b3b" : "#0b1220",
      weight: overdue ? 3 : 1.5, fillColor: COLOURS[row[3]] || "#ff9f1c",
      fillOpacity: open ? 0.95 : 0.55
    };
  }
  function classes(row) {
    return "zn-inc zn-inc-" + row[0] + " zn-st-" + row[3] + (row[4] ? " zn-overdue" : "");
  }
  window.zn.applyIncidents = function (mapId, rows) {
    var map = window.zn.maps[mapId];
    if (!map || !rows) { return; }
    var layer = map._znIncidents;
    if (!layer) {
      layer = map._znIncidents = L.layerGroup().addTo(map);
      layer._byId = {};
    }
    var byId = layer._byId, seen = {};
    rows.forEach(function (row) {
      var id = row[0], key = row[3] + "|" + row[4] + "|" + row[5];
      seen[id] = true;
      var m = byId[id];
      if (!m) {
        m = byId[id] = L.circleMarker([row[2], row[1]],
                                      Object.assign(style(row), {className: classes(row)}));
        m._znKey = key;
        m.bindTooltip(row[6]);
        m.addTo(layer);
        return;
      }
      if (m._znKey !== key) {
        m._znKey = key;
        m.setStyle(style(row));
        var path = m.getElement();
        if (path) { path.setAttribute("class", classes(row) + " leaflet-interactive"); }
        m.setTooltipContent(row[6]);
      }
    });
    Object.keys(byId).forEach(function (id) {
      if (!seen[id]) { layer.removeLayer(byId[id]); delete byId[id]; }
    });
  };
})();
