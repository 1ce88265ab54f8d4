// Graphic thumbnails stay blurred until clicked: the first click reveals, the next one opens.
// Without JavaScript they simply stay blurred.
"use strict";
document.addEventListener("click", (event) => {
  const blurred = event.target.closest(".graphic, .blur-all .thumb, .blur-all .screen");
  if (!blurred || blurred.classList.contains("revealed")) return;
  event.preventDefault();
  blurred.classList.add("revealed");
});
