// htmx drops the body of every 4xx and 5xx answer, so a refused swipe would look like nothing happened.
// This shows every failure (see vibes_site/htmx.py for the server's side):
// - a 4xx fragment for which the server named a place (HX-Retarget) is swapped in there, e.g. the deck
//   with the next card and the reason the swipe did not count;
// - any other fragment, 4xx or 5xx (the server's own 404 and 500 answer htmx with one), goes into the
//   page's error area, #htmx-error;
// - a whole error page (a refused CSRF token, say), an empty answer or none at all becomes a plain sentence
//   there.
(function () {
  "use strict";
  const PLAIN = {
    403: "That was refused: your session may have expired. Reload the page and try again.",
    404: "That is no longer here. Reload the page to see what is.",
    client: "That could not be done. Reload the page and try again.",
    server: "Something went wrong on our side. Please try again in a moment.",
    offline: "Could not reach City Vibes. Check your connection and try again.",
  };

  function errorArea() { return document.getElementById("htmx-error"); }

  function sentence(text) {
    const p = document.createElement("p");
    p.textContent = text;
    return p.outerHTML;
  }

  function isWholePage(html) { return /^\s*<(!doctype|html)/i.test(html || ""); }

  function isFragment(html) { return /\S/.test(html || "") && !isWholePage(html); }

  function show(html) {
    const area = errorArea();
    if (!area) return;
    area.innerHTML = html;
    area.hidden = false;
  }

  function clear() {
    const area = errorArea();
    if (area && !area.hidden) { area.hidden = true; area.replaceChildren(); }
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    const detail = event.detail;
    const status = detail.xhr.status;
    if (status < 400) { clear(); return; }
    const fragment = isFragment(detail.serverResponse);
    if (fragment && status < 500 && detail.xhr.getResponseHeader("HX-Retarget")) {
      clear();
      detail.shouldSwap = true; // htmx has already aimed it at the place the server named
      return;
    }
    const area = errorArea();
    if (!area) return;
    detail.shouldSwap = true;
    detail.target = area;
    detail.swapOverride = "innerHTML";
    if (!fragment) detail.serverResponse = sentence(PLAIN[status] || (status >= 500 ? PLAIN.server : PLAIN.client));
    area.hidden = false;
  });

  document.addEventListener("htmx:sendError", function () { show(sentence(PLAIN.offline)); });
})();
