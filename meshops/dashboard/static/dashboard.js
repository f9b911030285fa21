// meshops dashboard: keep a page's live block current without reloading the page.
// Every `data-refresh` seconds it fetches the page's own URL with `fragment=1` (HTML the server
// already escaped), parses it with DOMParser (which never runs scripts) and swaps the nodes in,
// keeping open <details> open. No framework, no inline script: the CSP allows only this file.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var status = document.getElementById("live-status");
  var seconds = Number(document.body.getAttribute("data-refresh") || "0");
  if (!live || !(seconds > 0) || !window.fetch || !window.DOMParser) {
    return;
  }
  var busy = false;
  var last = null;
  var base = status ? status.textContent : "";

  function fragmentUrl() {
    var url = new URL(window.location.href);
    url.hash = "";
    url.searchParams.set("fragment", "1");
    return url.toString();
  }

  function openDetails() {
    var open = [];
    live.querySelectorAll("details[id][open]").forEach(function (element) { open.push(element.id); });
    return open;
  }

  function show(text, stale) {
    if (!status) { return; }
    status.textContent = text;
    status.classList.toggle("stale", Boolean(stale));
  }

  function swap(html) {
    if (html === last) { return; }
    last = html;
    var open = openDetails();
    var parsed = new DOMParser().parseFromString("<body>" + html + "</body>", "text/html");
    live.replaceChildren.apply(live, Array.prototype.slice.call(parsed.body.childNodes));
    open.forEach(function (id) {
      var element = document.getElementById(id);
      if (element) { element.open = true; }
    });
  }

  function refresh() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(fragmentUrl(), { credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        swap(html);
        show(base + " · updated " + new Date().toLocaleTimeString(), false);
      })
      .catch(function (error) {
        show("not updating: " + error.message + " (retrying)", true);
      })
      .then(function () { busy = false; });
  }

  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", refresh);
})();
