// Find footage: a picture pasted anywhere on the page (a screenshot just taken) is sent as the
// file, as if it had been chosen.
"use strict";
(() => {
  const form = document.getElementById("find-form");
  const input = document.getElementById("find-file");
  if (!form || !input) return;
  document.addEventListener("paste", (event) => {
    const items = event.clipboardData ? Array.from(event.clipboardData.files) : [];
    const picture = items.find((file) => file.type.startsWith("image/"));
    if (!picture) return;
    event.preventDefault();
    const chosen = new DataTransfer();
    chosen.items.add(picture);
    input.files = chosen.files;
    form.requestSubmit();
  });
})();
