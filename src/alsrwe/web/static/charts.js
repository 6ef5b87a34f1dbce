// Draws each server-built Plotly figure: <div data-figure="ID"> + <script type="application/json" id="ID">.
// No mode bar: its buttons inside the chart (role="img") would be controls nested in an image
// (axe "nested-interactive"); the values are in the table under each chart instead.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Plotly === "undefined") { return; }
  document.querySelectorAll("[data-figure]").forEach(function (element) {
    var source = document.getElementById(element.dataset.figure);
    if (!source) { return; }
    var figure = JSON.parse(source.textContent);
    Plotly.newPlot(element, figure.data, figure.layout, {
      responsive: true, displayModeBar: false, displaylogo: false
    });
  });
});
