// Dash's renderer records every change of a callback's input for undo/redo (its store's
// `history.past`, dash-renderer's recordHistory), without a bound, and copies the whole list
// on each change. A live screen's pushes are such inputs several times a second (the wall's
// bus and panel frames, the console's queue): the list held every bus row ever received
// (+1.4 MB of JS heap a minute at 500 buses, after GC) and grew dearer to copy. No page shows
// Dash's undo/redo buttons; Dash itself only reverts one step (after a callback error), so
// each store keeps the last entry (plotly/dash#727). Runs before the renderer makes its store:
// Dash registers every store in `window.dash_stores`, which this list watches.
(function () {
  var KEEP = 1;
  function bound(store) {
    if (!store || store.__znHistory) { return; }
    store.__znHistory = true;
    store.subscribe(function () {
      var h = store.getState().history;
      if (h && h.past && h.past.length > KEEP) { h.past = h.past.slice(-KEEP); }
    });
  }
  var stores = window.dash_stores = window.dash_stores || [];
  stores.forEach(bound);
  var push = stores.push;
  stores.push = function () {
    Array.prototype.forEach.call(arguments, bound);
    return push.apply(this, arguments);
  };
  // How many entries each store holds (tests and benches read it).
  window.zn = Object.assign(window.zn || {}, {
    historySize: function () {
      return stores.map(function (s) {
        var h = s.getState().history;
        return h && h.past ? h.past.length : 0;
      });
    }
  });
})();
