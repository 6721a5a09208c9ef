/* Sign out: POST /logout with the CSRF token Dash also sends, then go to the sign-in page. */
(function () {
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)_csrf_token=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  document.addEventListener("click", function (ev) {
    var el = ev.target && ev.target.closest ? ev.target.closest(".zn-logout") : null;
    if (!el) { return; }
    ev.preventDefault();
    fetch("/logout", {method: "POST", credentials: "same-origin",
                      headers: {"X-CSRFToken": csrf()}})
      .finally(function () { window.location.assign("/login"); });
  });
})();
