// Draws each server-built Plotly figure: <div data-figure="ID"> + <script type="application/json" id="ID">.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Plotly === "undefined") { return; }
  document.querySelectorAll("[data-figure]").forEach(function (element) {
    var source = document.getElementById(element.dataset.figure);
    if (!source) { return; }
    var figure = JSON.parse(source.textContent);
    Plotly.newPlot(element, figure.data, figure.layout, {
      responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"]
    });
  });
});
