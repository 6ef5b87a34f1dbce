// The cohort page while its analyses run: asks the status URL every few seconds and reloads the
// page once the results are ready (no meta refresh: it would reload under a screen reader).
"use strict";
(function () {
  var box = document.getElementById("computing");
  if (!box || !box.dataset.statusUrl || !window.fetch) { return; }
  var state = document.getElementById("computing-state");
  var elapsed = document.getElementById("computing-elapsed");
  var every = 1000 * (Number(box.dataset.pollSeconds) || 2);

  function ask() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (status) {
        if (status.ready) {
          state.textContent = "The results are ready: showing them…";
          window.location.reload();
          return;
        }
        elapsed.textContent = String(Math.round(status.elapsed_seconds));
        window.setTimeout(ask, every);
      })
      .catch(function () {
        state.textContent = "Progress could not be checked: use “Refresh when ready”.";
      });
  }

  window.setTimeout(ask, every);
})();
