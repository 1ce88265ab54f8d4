// Reorder the selects list in place: drag a row, or ↑ ↓ without a page load.
// Without this script the ↑ ↓ buttons post forms and the server redirects back.
(function () {
  "use strict";
  var list = document.getElementById("select-list");
  if (!list || !list.dataset.ordering) return;
  var problem = document.getElementById("select-problem");
  var dragged = null, before = "", queue = Promise.resolve();
  // Texts and digits in the page's language (base.html: #page-strings, body[data-intl]).
  var STRINGS = JSON.parse(document.getElementById("page-strings").textContent);
  var number = new Intl.NumberFormat(document.documentElement.dataset.intl);

  function rows() { return Array.prototype.slice.call(list.querySelectorAll(".select-row")); }
  function order() { return rows().map(function (row) { return Number(row.dataset.id); }); }

  function renumber() {
    var all = rows();
    all.forEach(function (row, i) {
      row.dataset.position = String(i + 1);
      row.querySelector(".position").textContent = number.format(i + 1);
      var up = row.querySelector(".move-up"), down = row.querySelector(".move-down");
      up.disabled = i === 0;
      down.disabled = i === all.length - 1;
      up.value = String(i);
      down.value = String(i + 2);
    });
  }

  // Saves go one after another, so the server ends with the order shown on screen.
  function save() {
    var ids = order();
    renumber();
    queue = queue.then(function () { return send(ids); });
  }

  function send(ids) {
    return fetch("/api/p/" + encodeURIComponent(list.dataset.slug) + "/selects/order", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": list.dataset.csrf },
      body: JSON.stringify({ ids: ids })
    }).then(function (response) {
      if (response.ok) { list.dispatchEvent(new CustomEvent("selects:saved")); return; }
      return response.json().then(function (body) { fail(body.message || body.detail || response.statusText); });
    }).catch(function (error) { fail(String(error)); });
  }

  function fail(message) {
    problem.textContent = STRINGS.orderNotSaved.replace("{reason}", message);
    problem.hidden = false;
    setTimeout(function () { location.reload(); }, 2500);
  }

  list.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".move-up, .move-down") : null;
    if (!button) return;
    event.preventDefault();
    var row = button.closest(".select-row");
    if (button.classList.contains("move-up")) {
      if (row.previousElementSibling) list.insertBefore(row, row.previousElementSibling);
    } else if (row.nextElementSibling) {
      list.insertBefore(row.nextElementSibling, row);
    }
    save();
    if (!button.disabled) button.focus();
  });

  list.addEventListener("dragstart", function (event) {
    dragged = event.target.closest ? event.target.closest(".select-row") : null;
    if (!dragged) return;
    before = order().join(",");
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.id);
  });

  list.addEventListener("dragover", function (event) {
    var over = event.target.closest ? event.target.closest(".select-row") : null;
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    var box = over.getBoundingClientRect();
    list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? over.nextSibling : over);
  });

  list.addEventListener("drop", function (event) { if (dragged) event.preventDefault(); });

  list.addEventListener("dragend", function () {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    dragged = null;
    if (order().join(",") !== before) save();
  });
})();
