// Grid choropleth and incident heat, drawn in place on a Leaflet map kept in window.zn.maps.
// A frame names the level and parent shown and a colour per grid code. When the level and
// parent are those already drawn, only the polygons whose colour or tooltip changed are
// restyled: a live update never rebuilds the layer (dash-leaflet's GeoJSON would).
(function () {
  if (!window.L) { return; }
  window.zn = window.zn || {maps: {}};
  var layerData = {};  // url -> promise of the GeoJSON

  function fetchLayer(url) {
    if (!layerData[url]) {
      layerData[url] = fetch(url).then(function (r) { return r.json(); });
    }
    return layerData[url];
  }

  function setProps(id, props) {
    if (id && window.dash_clientside && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(id, props);
    }
  }

  function restyle(layer, frame) {
    layer.eachLayer(function (poly) {
      var code = poly.feature.properties.code;
      var colour = frame.colours[code] || "#24324a";
      if (poly._znColour !== colour) {
        poly._znColour = colour;
        poly.setStyle({fillColor: colour});
        var el = poly.getElement && poly.getElement();
        if (el) { el.setAttribute("data-colour", colour); }
      }
      var tip = (frame.tips || {})[code] || poly.feature.properties.name;
      if (poly._znTip !== tip) {
        poly._znTip = tip;
        // Text only: names come from data files and reports, never markup.
        var box = document.createElement("div");
        box.className = "zn-grid-tip-text";
        box.textContent = tip;
        if (poly.getTooltip()) { poly.setTooltipContent(box); } else {
          poly.bindTooltip(box, {sticky: true, className: "zn-grid-tip"});
        }
      }
    });
  }

  function build(map, frame, data) {
    var parent = frame.parent || null;
    var features = data.features.filter(function (f) {
      return !parent || f.properties.parent === parent;
    });
    var wall = !!frame.wall;
    if (!map.getPane("zn-grids")) { map.createPane("zn-grids").style.zIndex = 390; }
    var layer = L.geoJSON({type: "FeatureCollection", features: features}, {
      pane: "zn-grids",
      interactive: true,
      style: function (f) {
        return {className: "zn-grid zn-grid-" + f.properties.code, color: wall ? "#5d89c7" : "#cfe3ff",
                weight: wall ? 1 : 1.5, fillOpacity: wall ? 0.6 : 0.7, fillColor: "#24324a"};
      },
      onEachFeature: function (f, poly) {
        if (wall) { return; }
        poly.on("click", function () {
          var p = f.properties;
          if (frame.level < 3) {
            setProps(frame.drill, {data: {level: frame.level + 1,
                                          path: (frame.path || []).concat([p.code])}});
          }
          setProps(frame.select, {data: p.code});
        });
      }
    });
    layer._znKey = frame.level + "|" + parent;
    layer.addTo(map);
    if (!wall && layer.getLayers().length) {
      map.fitBounds(layer.getBounds(), {padding: [16, 16]});
    }
    return layer;
  }

  function render(frame) {
    var nu = window.dash_clientside.no_update;
    if (!frame) { return nu; }
    var map = window.zn.maps[frame.map];
    if (!map) { return nu; }
    var key = frame.level + "|" + (frame.parent || null);
    fetchLayer(frame.url).then(function (data) {
      var layer = map._znGrids;
      if (!layer || layer._znKey !== key) {
        if (layer) { map.removeLayer(layer); }
        layer = map._znGrids = build(map, frame, data);
      }
      restyle(layer, frame);
      var box = document.getElementById(frame.map);
      if (box) { box.setAttribute("data-grid-level", frame.level); }
    });
    return frame.seq;
  }

  // ---------------------------------------------------------------- point-density heat
  // A small take on the "simpleheat" idea: each point is a blurred alpha dot on a canvas,
  // then the alpha is mapped through a colour ramp. Redrawn on zoom and pan only.
  var Heat = L.Layer.extend({
    initialize: function (points) { this._points = points || []; },
    setPoints: function (points) { this._points = points || []; this._draw(); },
    onAdd: function (map) {
      this._canvas = L.DomUtil.create("canvas", "zn-heat leaflet-zoom-hide");
      map.getPanes().overlayPane.appendChild(this._canvas);
      map.on("moveend zoomend resize", this._draw, this);
      this._draw();
    },
    onRemove: function (map) {
      map.off("moveend zoomend resize", this._draw, this);
      L.DomUtil.remove(this._canvas);
    },
    _ramp: (function () {
      var c = document.createElement("canvas"); c.width = 1; c.height = 256;
      var ctx = c.getContext("2d"), g = ctx.createLinearGradient(0, 0, 0, 256);
      g.addColorStop(0.25, "#2b5cff"); g.addColorStop(0.5, "#29e0c8");
      g.addColorStop(0.7, "#f7e733"); g.addColorStop(1.0, "#ff2d2d");
      ctx.fillStyle = g; ctx.fillRect(0, 0, 1, 256);
      return ctx.getImageData(0, 0, 1, 256).data;
    })(),
    _draw: function () {
      var map = this._map;
      if (!map || !this._canvas) { return; }
      var size = map.getSize(), cv = this._canvas;
      cv.width = size.x; cv.height = size.y;
      L.DomUtil.setPosition(cv, map.containerPointToLayerPoint([0, 0]));
      var ctx = cv.getContext("2d"), r = Math.max(10, 6 + map.getZoom() * 1.2);
      ctx.clearRect(0, 0, size.x, size.y);
      this._points.forEach(function (p) {
        var pt = map.latLngToContainerPoint([p[0], p[1]]);
        if (pt.x < -r || pt.y < -r || pt.x > size.x + r || pt.y > size.y + r) { return; }
        var g = ctx.createRadialGradient(pt.x, pt.y, 0, pt.x, pt.y, r);
        g.addColorStop(0, "rgba(0,0,0,0.35)"); g.addColorStop(1, "rgba(0,0,0,0)");
        ctx.fillStyle = g;
        ctx.fillRect(pt.x - r, pt.y - r, 2 * r, 2 * r);
      });
      if (!size.x || !size.y) { return; }
      var img = ctx.getImageData(0, 0, size.x, size.y), px = img.data, ramp = this._ramp;
      for (var i = 3; i < px.length; i += 4) {
        var a = px[i];
        if (!a) { continue; }
        var j = Math.min(255, a * 3) * 4;
        px[i - 3] = ramp[j]; px[i - 2] = ramp[j + 1]; px[i - 1] = ramp[j + 2];
        px[i] = Math.min(220, 60 + a * 2);
      }
      ctx.putImageData(img, 0, 0);
      cv.setAttribute("data-points", String(this._points.length));
    }
  });

  function heat(frame) {
    var nu = window.dash_clientside.no_update;
    if (!frame) { return nu; }
    var map = window.zn.maps[frame.map];
    if (!map) { return nu; }
    if (!frame.on) {
      if (map._znHeat) { map.removeLayer(map._znHeat); map._znHeat = null; }
      return frame.seq;
    }
    if (!map._znHeat) { map._znHeat = new Heat(frame.points).addTo(map); }
    else { map._znHeat.setPoints(frame.points); }
    return frame.seq;
  }

  window.zn.renderGrids = render;
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    zn: Object.assign({}, (window.dash_clientside || {}).zn,
                      {renderGrids: render, renderHeat: heat})
  });
})();
