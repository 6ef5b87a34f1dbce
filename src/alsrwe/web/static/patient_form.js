// Checks the SOD1 variant as it is typed and shows the name alsrwe will store (or the rule it
// breaks), from GET /api/v1/sod1-variants/normalised. Without JavaScript the form checks on save.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var input = document.getElementById("sod1_variant");
  var output = document.getElementById("sod1_variant-normalised");
  if (!input || !output) { return; }
  var timer = null;
  var asked = "";
  function check() {
    var name = input.value.trim();
    if (!name || name === asked) { if (!name) { output.textContent = ""; } return; }
    asked = name;
    fetch("/api/v1/sod1-variants/normalised?name=" + encodeURIComponent(name),
          {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      })
      .then(function (answer) {
        if (name !== input.value.trim()) { return; }
        if (answer.ok) {
          output.textContent = "Stored as " + answer.body.legacy + " (" + answer.body.hgvs + ")";
          output.classList.remove("field-error");
        } else {
          var detail = answer.body.detail;
          output.textContent = Array.isArray(detail) && detail.length ? detail[0].msg
            : "This name cannot be read.";
          output.classList.add("field-error");
        }
      })
      .catch(function () { asked = ""; });
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  });
  if (input.value.trim()) { check(); }
});
