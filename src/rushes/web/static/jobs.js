// Follow the page's background jobs (evidence bags, share copies, share previews): ask each
// unfinished one how far it got, every second, until it is done (its link shows) or failed
// (the reason shows). Without this script a reload of the page shows the same.
//
// A job is an element .job[data-status=<its JSON address>][data-state] holding .job-state,
// .job-progress, .job-link (hidden until done) and .job-error. A finished job whose work is
// out of date already (a preview of redactions changed since: "current": false) keeps its
// link hidden and says so.
(function () {
  "use strict";
  // The states' names in the page's language (the page's #page-strings), its digits.
  var NAMES = JSON.parse(document.getElementById("page-strings").textContent);
  var number = new Intl.NumberFormat(document.documentElement.dataset.intl);

  function show(row, job) {
    var stale = job.state === "done" && job.current === false;
    row.dataset.state = stale ? "stale" : job.state;
    var count = job.total ? " " + number.format(job.done) + "/" + number.format(job.total) : "";
    var finished = job.state === "done" || job.state === "failed";
    row.querySelector(".job-state").textContent = (NAMES[row.dataset.state] || job.state) + (finished ? "" : count);
    var bar = row.querySelector(".job-progress");
    bar.max = job.total || 1;
    bar.value = job.state === "done" ? bar.max : job.done;
    row.querySelector(".job-link").hidden = job.state !== "done" || stale;
    var error = row.querySelector(".job-error");
    error.textContent = job.problem || job.error || "";
    error.hidden = !error.textContent;
  }

  function follow(row) {
    fetch(row.dataset.status, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (job) {
        show(row, job);
        if (job.state !== "done" && job.state !== "failed") setTimeout(follow, 1000, row);
      })
      .catch(function (error) {
        var problem = row.querySelector(".job-error");
        problem.textContent = NAMES.retrying.replace("{reason}", error.message);
        problem.hidden = false;
        setTimeout(follow, 3000, row);
      });
  }

  document.querySelectorAll(".job[data-status]").forEach(function (row) {
    if (row.dataset.state !== "done" && row.dataset.state !== "failed") follow(row);
    else show(row, { state: row.dataset.state, done: 0, total: 0, error: row.querySelector(".job-error").textContent });
  });
})();
