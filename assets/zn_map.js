// Leaflet drawing functions referenced from Python as Namespace("zn", "map")(name).
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
    incidentPoint: function (feature, latlng) {
      var p = feature.properties || {};
      var colour = window.zn.map.STATE_COLOURS[p.state] || "#ff9f1c";
      var cls = "zn-inc zn-inc-" + p.id + " zn-st-" + p.state + (p.overdue ? " zn-overdue" : "");
      return L.circleMarker(latlng, {
        radius: p.open ? (p.overdue ? 11 : 9) : 6, color: p.overdue ? "#ff3b3b" : "#0b1220",
        weight: p.overdue ? 3 : 1.5, fillColor: colour, fillOpacity: p.open ? 0.95 : 0.55,
        className: cls
      });
    },
    busPoint: function (feature, latlng) {
      var p = feature.properties || {};
      var cls = "zn-bus zn-bus-" + p.key + (p.moving ? " moving" : " stopped");
      return L.marker(latlng, {
        keyboard: false, zIndexOffset: 1000,
        icon: L.divIcon({
          className: cls, iconSize: [26, 26],
          html: '<div class="zn-bus-arrow" style="transform: rotate(' + (p.heading || 0) +
                'deg)"></div>'
        })
      });
    }
  }
});
