// Fit the fixed 1920×1080 wall stage to any screen (1080p to 4K) without scrollbars,
// and keep the header clock ticking locally (no server round trip for time).
(function () {
  var W = 1920, H = 1080, TABLET_MAX = 1279, IDS = window.zn.ids;
  // Decide the mode before Dash mounts the map, so Leaflet fits the town to the final size.
  function mode() {
    var fluid = window.innerWidth <= TABLET_MAX;
    document.documentElement.classList.toggle("zn-fluid", fluid);
    return fluid;
  }
  function fit() {
    var fluid = mode();
    var stage = document.getElementById(IDS.wall.STAGE);
    if (!stage) { return; }
    var vw = window.innerWidth, vh = window.innerHeight;
    if (fluid) {
      stage.style.transform = "";
      stage.style.left = stage.style.top = "";
      return;
    }
    var s = Math.min(vw / W, vh / H);
    stage.style.transform = "scale(" + s + ")";
    stage.style.left = Math.max(0, (vw - W * s) / 2) + "px";
    stage.style.top = Math.max(0, (vh - H * s) / 2) + "px";
  }
  // The server beats every 2 s; a screen that hears nothing for 6 s says so instead of
  // showing old figures as live, until the websocket reconnects and the push resumes.
  var STALE_MS = 6000;
  function watchdog() {
    var beat = document.getElementById(IDS.wall.HEARTBEAT);
    var status = document.getElementById(IDS.wall.STATUS);
    if (!beat || !status || !beat.textContent) { return; }
    var age = Date.now() - parseFloat(beat.textContent) * 1000;
    var stale = age > STALE_MS;
    document.documentElement.classList.toggle("zn-stale", stale);
    if (stale) { stillSignedIn(); }
    if (stale && !status.classList.contains("stale")) {
      status.dataset.live = status.textContent;
      status.textContent = status.dataset.stale;
      status.classList.add("stale");
    } else if (!stale && status.classList.contains("stale")) {
      status.classList.remove("stale");
      if (status.dataset.live) { status.textContent = status.dataset.live; }
    }
  }
  // A silent screen asks (at most every 3 s) whether its credential still holds: a kiosk
  // token revoked on /admin, a user disabled or signed out closes the screen at once
  // (to the sign-in page) instead of leaving the last figures up as if live.
  var askedAt = 0;
  function stillSignedIn() {
    if (Date.now() - askedAt < 3000) { return; }
    askedAt = Date.now();
    fetch("/api/whoami", {credentials: "same-origin", cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (who) {
        if (who && who.role === "anon") { window.location.replace("/login"); }
      })
      .catch(function () { /* the server is away: stay stale, the reconnect resumes */ });
  }
  // The screens' one beat: what blinks (an overdue marker, the focus ring, a red readiness
  // badge) changes with the clock's second, in the frame the clock draws anyway, instead of in
  // CSS animations of its own. Without a GPU (the hall's PC, this box) every frame a page
  // draws is composited in software: a 2,000-bus wall took 38 % of a core with its own
  // animations and 16.5-19.7 % without (bench/README.md, latency.py's CPU by process kind).
  function tick() {
    document.documentElement.classList.toggle("zn-beat");
    watchdog();
    var el = document.getElementById(IDS.CLOCK);
    if (el) {
      // Every page takes ?lang=en; the wall also carries it on its stage.
      var stage = document.getElementById(IDS.wall.STAGE);
      var lang = {lang: (stage && stage.dataset.lang) ||
                        new URLSearchParams(location.search).get("lang") || "zh"};
      var now = new Date();
      // The language's own date: 2026年12月2日 周三 / Wed 2 Dec 2026 (never 02/12/2026).
      var en = lang.lang === "en";
      var day = now.toLocaleDateString(en ? "en-GB" : "zh-CN", {
        timeZone: "Asia/Shanghai", year: "numeric", month: en ? "short" : "long",
        day: "numeric", weekday: "short"}).replace(",", "");
      var time = now.toLocaleTimeString("en-GB", {timeZone: "Asia/Shanghai", hour12: false,
        hour: "2-digit", minute: "2-digit", second: "2-digit"});
      el.textContent = day + " " + time;
    }
    fit();
  }
  mode();
  window.addEventListener("resize", fit);
  setInterval(tick, 1000);
  new MutationObserver(fit).observe(document.documentElement, {childList: true, subtree: true});
})();
