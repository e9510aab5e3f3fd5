// Reviewer report and review app: patient filter and switching, evidence <-> criterion links,
// criteria filtered or sorted by effect, and in the app keyboard review with in-place saving.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function showPatient(id) {
    var sections = document.querySelectorAll("section.patient");
    if (sections.length < 2 && !document.getElementById("patients")) return;  // one patient per page
    var list = document.getElementById("patients");
    var cohort = document.getElementById("cohort");
    sections.forEach(function (s) { s.classList.toggle("current", s.id === id); });
    if (list) list.classList.toggle("hidden", !!id);
    if (cohort) cohort.classList.toggle("hidden", !!id);
  }

  function patientOf(element) {
    var section = element.closest("section.patient");
    return section ? section.id : null;
  }

  function route() {
    var target = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    if (target && target.closest("#patients, #cohort")) target = null;
    showPatient(target ? patientOf(target) : null);
    if (target) {
      target.scrollIntoView({block: target.matches("section.patient") ? "start" : "center"});
      if (target.matches("tr.criterion")) activate(target);
    }
  }

  function focusSpan(noteAnchor, key) {
    var note = document.getElementById("note-" + noteAnchor);
    if (!note) return;
    document.querySelectorAll("mark.active").forEach(function (m) { m.classList.remove("active", "flash"); });
    var marks = note.querySelectorAll('mark[data-keys~="' + key + '"]');
    if (!marks.length) return;
    showPatient(patientOf(note));
    marks.forEach(function (m) { void m.offsetWidth; m.classList.add("active", "flash"); });
    if (!marks[0].hasAttribute("tabindex")) marks[0].setAttribute("tabindex", "-1");
    marks[0].scrollIntoView({block: "center"});
    marks[0].focus({preventScroll: true});
  }

  // The criterion row a reviewer is on: shortcuts act on it.
  function activate(row) {
    document.querySelectorAll("tr.criterion.active").forEach(function (r) { r.classList.remove("active"); });
    row.classList.add("active");
    row.focus({preventScroll: true});
    row.scrollIntoView({block: "center"});
  }

  function goToCriterion(mark) {
    var ids = (mark.dataset.criteria || "").split(" ");
    var row = document.getElementById(ids[0]);
    if (!row) return;
    history.replaceState(null, "", "#" + ids[0]);
    showPatient(patientOf(row));
    activate(row);
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.ev-link");
    if (link) {
      event.preventDefault();
      history.replaceState(null, "", link.getAttribute("href"));
      focusSpan(link.dataset.note, link.dataset.key);
      return;
    }
    var mark = event.target.closest("mark[data-criteria]");
    if (mark) goToCriterion(mark);
    var sort = event.target.closest("button.effect-sort");
    if (sort) sortByEffect(sort);
  });

  var ORDER = {excludes: 0, fails: 1, to_check: 2, passes: 3};
  function sortByEffect(button) {
    var body = button.closest("section.patient").querySelector("table.criteria tbody");
    var sorted = button.getAttribute("aria-pressed") !== "true";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var ka = sorted ? ORDER[a.dataset.effect] : 0, kb = sorted ? ORDER[b.dataset.effect] : 0;
      return (ka - kb) || (a.dataset.order - b.dataset.order);
    });
    rows.forEach(function (r) { body.appendChild(r); });
    button.setAttribute("aria-pressed", sorted ? "true" : "false");
    button.textContent = sorted ? "Original order" : "Sort by effect";
  }

  function filterByEffect(select) {
    var rows = select.closest("section.patient").querySelectorAll("table.criteria tr.criterion");
    rows.forEach(function (r) { r.hidden = !!select.value && r.dataset.effect !== select.value; });
  }

  function applyFilter() {
    var text = ((document.getElementById("filter-text") || {}).value || "").toLowerCase();
    var overall = (document.getElementById("filter-overall") || {}).value || "";
    var criterion = ((document.getElementById("filter-criterion") || {}).value || "").toLowerCase();
    var shown = 0;
    document.querySelectorAll("#patient-rows tr").forEach(function (row) {
      var ok = row.dataset.patient.toLowerCase().indexOf(text) >= 0 &&
        (!overall || row.dataset.overall === overall) &&
        (!criterion || row.dataset.criteria.toLowerCase().indexOf(criterion) >= 0);
      row.hidden = !ok;
      if (ok) shown += 1;
    });
    var count = document.getElementById("shown-count");
    if (count) count.textContent = shown;
  }

  // Review app: a decision is posted in the background and its line replaced in place,
  // so the reviewer keeps their place; a refused decision shows its message by the form.
  function submitInPlace(form, event) {
    if (!window.fetch) return;
    event.preventDefault();
    var error = form.querySelector(".form-error");
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: {"Accept": "application/json"},
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (result) {
      if (!result.ok) {
        error.textContent = result.data.error || "not saved";
        error.hidden = false;
        return;
      }
      error.hidden = true;
      var line = form.parentNode.querySelector(".decision");
      if (line) line.outerHTML = result.data.decision_html;
      var recomputed = document.getElementById("recomputed-overall");
      if (recomputed && result.data.recomputed) {
        recomputed.textContent = result.data.recomputed_label;
        recomputed.dataset.overall = result.data.recomputed;
        recomputed.className = "overall overall-" + result.data.recomputed;
        document.querySelectorAll(".recomputed-label").forEach(function (label) {
          label.textContent = result.data.recomputed_label;
        });
      }
      form.reset();
    }).catch(function () {
      error.textContent = "not saved: the app did not answer";
      error.hidden = false;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form.review-form");
    if (form) submitInPlace(form, event);
  });

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("section.patient.current tr.criterion, " +
      "section.patient:only-of-type tr.criterion")).filter(function (r) { return !r.hidden; });
  }

  function step(delta) {
    var all = rows();
    if (!all.length) return;
    var at = all.indexOf(document.querySelector("tr.criterion.active"));
    activate(all[Math.max(0, Math.min(all.length - 1, at < 0 ? 0 : at + delta))]);
  }

  function decide(value) {
    var row = document.querySelector("tr.criterion.active");
    var form = row && row.querySelector("form.review-form");
    if (!form) return;
    form.querySelector('input[name=decision][value="' + value + '"]').checked = true;
    if (value === "correct") {
      form.requestSubmit();
    } else {
      form.querySelector("select[name=corrected]").focus();  // then Enter saves the correction
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, select, textarea")) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var link = null;
    switch (event.key) {
      case "j": step(1); break;
      case "k": step(-1); break;
      case "c": decide("correct"); break;
      case "w": decide("wrong"); break;
      case "n": link = document.getElementById("next-patient"); break;
      case "p": link = document.getElementById("prev-patient"); break;
      case "Enter":
        if (event.target.matches("mark[data-criteria]")) goToCriterion(event.target);
        return;
      default: return;
    }
    event.preventDefault();
    if (link) location.href = link.href;
  });

  document.addEventListener("DOMContentLoaded", function () {
    ["filter-text", "filter-overall", "filter-criterion"].forEach(function (id) {
      var control = document.getElementById(id);
      if (control) control.addEventListener("input", applyFilter);
    });
    document.querySelectorAll("select.effect-filter").forEach(function (select) {
      select.addEventListener("change", function () { filterByEffect(select); });
    });
    document.querySelectorAll("select[name=corrected]").forEach(function (select) {
      select.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); select.form.requestSubmit(); }
      });
    });
    window.addEventListener("hashchange", route);
    route();
  });
})();
