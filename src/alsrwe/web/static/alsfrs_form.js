// ALSFRS-R form: show only the item 5 scale that applies (5a without, 5b with a gastrostomy).
// Without JavaScript both are shown, labelled, and the server checks the right one was used.
(function () {
  "use strict";
  var box = document.getElementById("gastrostomy");
  if (!box) { return; }
  function sync() {
    document.querySelectorAll("fieldset[data-gastrostomy]").forEach(function (set) {
      var applies = (set.getAttribute("data-gastrostomy") === "yes") === box.checked;
      set.hidden = !applies;
      if (!applies) {
        set.querySelectorAll("input[type=radio]").forEach(function (input) { input.checked = false; });
      }
    });
  }
  box.addEventListener("change", sync);
  sync();
}());
