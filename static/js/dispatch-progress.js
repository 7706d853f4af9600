// Keep a dispatch page's progress current while its deliveries are being sent.
// Loaded with `defer` from the dispatch page; no inline scripts (Content-Security-Policy). Without
// JavaScript the page still shows the counts as of loading, with a "Refresh" link.
"use strict";

(function () {
  const section = document.getElementById("dispatch-progress");
  if (!section || section.dataset.completed === "true" || !window.fetch) {
    return;
  }
  const url = section.dataset.progressUrl;
  const bar = section.querySelector("[data-progress-bar]");
  const INTERVAL_MS = 3000;
  const MAX_INTERVAL_MS = 60000;
  let delay = INTERVAL_MS;

  function show(data) {
    section.querySelectorAll("[data-count]").forEach(function (element) {
      const key = element.dataset.count;
      if (Object.prototype.hasOwnProperty.call(data, key)) {
        element.textContent = String(data[key]);
      }
    });
    if (bar) {
      bar.value = data.percent;
      bar.textContent = data.percent + "%";
    }
  }

  function schedule() {
    window.setTimeout(poll, delay);
  }

  function poll() {
    if (document.hidden) {  // not while the tab is in the background
      schedule();
      return;
    }
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store", redirect: "error" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        show(data);
        delay = INTERVAL_MS;
        if (data.completed) {
          // Reload once so the failed deliveries and the retry button appear.
          window.location.reload();
          return;
        }
        schedule();
      })
      .catch(function () {
        // Signed out (the redirect to the login page is refused above), offline, or a server error:
        // back off and try again; the "Refresh" link still works.
        delay = Math.min(delay * 2, MAX_INTERVAL_MS);
        schedule();
      });
  }

  schedule();
})();
