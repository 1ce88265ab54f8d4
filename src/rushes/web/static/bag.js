// Follow the incident's evidence bag jobs: ask each unfinished one how far it got, every
// second, until it is done (the download link shows) or failed (the reason shows).
// Without this script a reload of the page shows the same.
(function () {
  "use strict";
  // The states' names in the page's language (incident.html's #page-strings), its digits.
  var NAMES = JSON.parse(document.getElementById("page-strings").textContent);
  var number = new Intl.NumberFormat(document.documentElement.dataset.intl);

  function show(row, job) {
    row.dataset.state = job.state;
    var count = job.total ? " " + number.format(job.done) + "/" + number.format(job.total) : "";
    row.querySelector(".bag-state").textContent = (NAMES[job.state] || job.state) + (job.state === "done" || job.state === "failed" ? "" : count);
    var bar = row.querySelector(".bag-progress");
    bar.max = job.total || 1;
    bar.value = job.state === "done" ? bar.max : job.done;
    row.querySelector(".bag-download").hidden = job.state !== "done";
    var error = row.querySelector(".bag-error");
    error.textContent = job.error || "";
    error.hidden = !job.error;
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
        var problem = row.querySelector(".bag-error");
        problem.textContent = NAMES.retrying.replace("{reason}", error.message);
        problem.hidden = false;
        setTimeout(follow, 3000, row);
      });
  }

  document.querySelectorAll(".bag-job").forEach(function (row) {
    if (row.dataset.state !== "done" && row.dataset.state !== "failed") follow(row);
    else show(row, { state: row.dataset.state, done: 0, total: 0, error: row.querySelector(".bag-error").textContent });
  });
})();
