// Behaviour for the portal pages. Loaded with `defer`; no inline scripts (Content-Security-Policy).
"use strict";

// Ask before a form marked data-confirm is sent (deactivating, removing a liaison).
document.addEventListener("submit", function (event) {
  const question = event.target.dataset ? event.target.dataset.confirm : null;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Start keyboard and screen-reader users at the error summary when a form comes back with errors.
document.addEventListener("DOMContentLoaded", function () {
  const summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
});
