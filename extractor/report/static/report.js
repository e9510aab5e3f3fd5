// Reviewer report: patient filter, patient switching by #hash, evidence links that scroll to their span.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function showPatient(id) {
    var sections = document.querySelectorAll("section.patient");
    if (sections.length < 2 && !document.getElementById("patients")) return;  // app: one patient per page
    var list = document.getElementById("patients");
    sections.forEach(function (s) { s.classList.toggle("current", s.id === id); });
    if (list) list.classList.toggle("hidden", !!id);
  }

  function patientOf(element) {
    var section = element.closest("section.patient");
    return section ? section.id : null;
  }

  function route() {
    var target = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    showPatient(target ? patientOf(target) : null);
    if (target) target.scrollIntoView({block: target.matches("section.patient") ? "start" : "center"});
  }

  function focusSpan(noteAnchor, key) {
    var note = document.getElementById("note-" + noteAnchor);
    if (!note) return;
    document.querySelectorAll("mark.active").forEach(function (m) { m.classList.remove("active", "flash"); });
    var marks = note.querySelectorAll('mark[data-keys~="' + key + '"]');
    if (!marks.length) return;
    showPatient(patientOf(note));
    marks.forEach(function (m) { void m.offsetWidth; m.classList.add("active", "flash"); });
    marks[0].setAttribute("tabindex", "-1");
    marks[0].scrollIntoView({block: "center"});
    marks[0].focus({preventScroll: true});
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.ev-link");
    if (!link) return;
    event.preventDefault();
    history.replaceState(null, "", link.getAttribute("href"));
    focusSpan(link.dataset.note, link.dataset.key);
  });

  function applyFilter() {
    var text = (document.getElementById("filter-text") || {}).value || "";
    var overall = (document.getElementById("filter-overall") || {}).value || "";
    var shown = 0;
    document.querySelectorAll("#patient-rows tr").forEach(function (row) {
      var ok = row.dataset.patient.toLowerCase().indexOf(text.toLowerCase()) >= 0 &&
        (!overall || row.dataset.overall === overall);
      row.hidden = !ok;
      if (ok) shown += 1;
    });
    var count = document.getElementById("shown-count");
    if (count) count.textContent = shown;
  }

  document.addEventListener("DOMContentLoaded", function () {
    ["filter-text", "filter-overall"].forEach(function (id) {
      var control = document.getElementById(id);
      if (control) control.addEventListener("input", applyFilter);
    });
    window.addEventListener("hashchange", route);
    route();
  });
})();
