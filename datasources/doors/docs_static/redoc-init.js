// Starts ReDoc on /api/redoc from the product's own copy (no CDN, no web fonts).
window.addEventListener("load", function () {
  Redoc.init(document.body.dataset.openapi, {}, document.getElementById("redoc"));
});
