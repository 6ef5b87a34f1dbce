// ALSFRS-R forms (the clinic's and the patient's self-report) and the self-report pages.
// Everything here improves a page that already works without JavaScript:
// - item 5: only the scale that applies is shown (5a without, 5b with a gastrostomy); without
//   JavaScript both are shown, labelled, and the server checks the right one was used;
// - an error summary takes the focus, and its links move the focus into the question named;
// - the self-report form (data-self-report): Enter never sends (the page's HTML already turns
//   the browser's Enter-submission into "not yet"; here Enter ticks the box, or picks the
//   answer and moves on to the next question), and a draft of the answers is kept in this
//   tab (sessionStorage, under the link's path) so that a reload does not lose them;
// - a page marked data-draft-done (sent, or a closed link) drops that draft;
// - a button marked data-print (not shown without JavaScript) prints the page.
(function () {
  "use strict";
  var draftKey = "alsrwe-self-report-draft:" + window.location.pathname;

  function storage() {
    try { return window.sessionStorage; } catch (blocked) { return null; }
  }

  function readDraft() {
    var store = storage();
    try { return JSON.parse((store && store.getItem(draftKey)) || "null"); } catch (bad) { return null; }
  }

  function writeDraft(answers) {
    var store = storage();
    try { if (store) { store.setItem(draftKey, JSON.stringify(answers)); } } catch (full) { /* kept on the page only */ }
  }

  function dropDraft() {
    var store = storage();
    try { if (store) { store.removeItem(draftKey); } } catch (blocked) { /* nothing kept */ }
  }

  if (document.querySelector("[data-draft-done]")) { dropDraft(); }

  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.style.removeProperty("display");
    button.addEventListener("click", function () { window.print(); });
  });

  var box = document.getElementById("gastrostomy");
  if (!box) { return; }
  var form = box.form;

  function sync() {
    document.querySelectorAll("fieldset[data-gastrostomy]").forEach(function (set) {
      var applies = (set.getAttribute("data-gastrostomy") === "yes") === box.checked;
      set.hidden = !applies;
      if (!applies) {
        set.querySelectorAll("input[type=radio]").forEach(function (input) { input.checked = false; });
      }
    });
  }

  function firstInput(set) {
    return set.querySelector("input:checked") || set.querySelector("input, select, textarea");
  }

  function focusQuestion(set) {
    var input = firstInput(set);
    if (!input) { return false; }
    var legend = set.querySelector("legend, label");
    (legend || set).scrollIntoView({ block: "start" });
    input.focus({ preventScroll: true });
    return true;
  }

  var summary = document.getElementById("errors");
  if (summary) {
    summary.querySelectorAll("a[href^='#field-']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var set = document.getElementById(link.getAttribute("href").slice(1));
        if (set && !set.hidden && focusQuestion(set)) { event.preventDefault(); }
      });
    });
    summary.focus();
  }

  if (!form || !form.hasAttribute("data-self-report")) {
    box.addEventListener("change", sync);
    sync();
    return;
  }

  function answers() {
    var found = {};
    form.querySelectorAll("input[type=radio]:checked, input[type=checkbox]:checked").forEach(
      function (input) { found[input.name] = input.value; });
    return found;
  }

  function restore(draft) {
    form.querySelectorAll("input[type=radio], input[type=checkbox]").forEach(function (input) {
      if (Object.prototype.hasOwnProperty.call(draft, input.name) && draft[input.name] === input.value) {
        input.checked = true;
      }
    });
  }

  function nextQuestion(input) {
    var sets = Array.prototype.filter.call(form.querySelectorAll("fieldset.item"),
      function (set) { return !set.hidden; });
    var next = sets[sets.indexOf(input.closest("fieldset")) + 1];
    var target = next ? firstInput(next) : form.querySelector("button[name=send]");
    if (target) { target.focus(); }
  }

  form.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || input.tagName !== "INPUT") { return; }
    if (input.type === "checkbox") {
      event.preventDefault();
      input.click();
    } else if (input.type === "radio") {
      event.preventDefault();
      if (!input.checked) { input.click(); }
      nextQuestion(input);
    }
  });

  // The answers the server shows (a page shown again) win over a draft; a fresh page takes it.
  var draft = readDraft();
  if (draft && Object.keys(answers()).length === 0) { restore(draft); }
  box.addEventListener("change", sync);
  sync();
  writeDraft(answers());
  form.addEventListener("change", function () { writeDraft(answers()); });
}());
