// nex view: filters, search, expand/collapse and timeline jumps. Every page is readable without
// it; the page is rendered (and escaped) by the server side, this only shows and hides.
(function () {
  "use strict";
  function all(root, sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }

  function filterTrajectory(traj) {
    var q = traj.querySelector(".f-q").value.trim().toLowerCase();
    var agent = traj.querySelector(".f-agent").value;
    var kind = traj.querySelector(".f-kind").value;
    var status = traj.querySelector(".f-status").value;
    var active = q || agent || kind || status;
    var shown = 0;
    var steps = all(traj, ".tree details.step");
    // Deepest first, so a parent knows whether any child stays visible.
    steps.reverse().forEach(function (step) {
      var own = step.querySelector(":scope > summary").textContent + " " +
        step.querySelector(":scope > .step-body").textContent;
      var hit = (!agent || step.dataset.agent === agent) && (!kind || step.dataset.kind === kind) &&
        (!status || step.dataset.status === status) && (!q || own.toLowerCase().indexOf(q) >= 0);
      var childShown = all(step, ":scope > .children details.step").some(function (c) {
        return !c.classList.contains("hidden");
      });
      var visible = !active || hit || childShown;
      step.classList.toggle("hidden", !visible);
      step.classList.toggle("match", !!active && hit);
      if (active && childShown) { step.open = true; }
      if (active && hit) { shown += 1; }
    });
    all(traj, ".tree .batch").forEach(function (b) {
      b.classList.toggle("hidden", all(b, ":scope > details.step:not(.hidden)").length === 0);
    });
    traj.querySelector(".f-count").textContent = active ? shown + " matching steps" : "";
  }

  all(document, ".traj").forEach(function (traj) {
    if (!traj.querySelector(".filters")) { return; }
    all(traj, ".filters input, .filters select").forEach(function (el) {
      el.addEventListener("input", function () { filterTrajectory(traj); });
      el.addEventListener("change", function () { filterTrajectory(traj); });
    });
    traj.querySelector(".expand-all").addEventListener("click", function () {
      all(traj, ".tree details").forEach(function (d) { d.open = true; });
    });
    traj.querySelector(".collapse-all").addEventListener("click", function () {
      all(traj, ".tree details").forEach(function (d) { d.open = false; });
    });
    all(traj, ".wf-row, a.shared").forEach(function (row) {
      row.addEventListener("click", function (ev) {
        var target = document.getElementById(row.dataset.target);
        if (!target) { return; }
        ev.preventDefault();
        for (var d = target; d; d = d.parentElement) { if (d.tagName === "DETAILS") { d.open = true; } }
        target.scrollIntoView({ block: "center" });
        target.classList.add("flash");
        setTimeout(function () { target.classList.remove("flash"); }, 1200);
      });
    });
  });

  all(document, ".f-rows").forEach(function (input) {
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      all(document, ".episode-list tbody tr").forEach(function (tr) {
        tr.classList.toggle("hidden", !!q && tr.textContent.toLowerCase().indexOf(q) < 0);
      });
    });
  });

  all(document, ".only-diff").forEach(function (box) {
    box.addEventListener("change", function () {
      all(document, ".cmp tbody tr.same").forEach(function (tr) { tr.classList.toggle("hidden", box.checked); });
    });
  });
})();
