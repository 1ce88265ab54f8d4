// The player page's keyboard and live timecode. Everything here only enhances the page:
// notes, forms and lists are server-rendered and work without it.
//
// Keys: space play/pause · J back 1 s (browsers cannot play backwards reliably) · K pause ·
// L play, faster on each press · ←/→ one frame · I/O mark in/out · N note at the playhead.
"use strict";
(() => {
  const video = document.getElementById("player");
  const display = document.getElementById("timecode");
  const clock = window.RushesTime;
  const parseRate = clock.parseRate;
  const rate = parseRate((video || display)?.dataset.rate);
  const noteBody = document.getElementById("note-body");
  const marks = { in: null, out: null };
  // Texts in the page's language (player.html's #page-strings).
  const strings = JSON.parse(document.getElementById("page-strings")?.textContent || "{}");

  // Positions at the clip's rate unless another is given (timecode.js); timecodes shown in
  // the page's digits.
  const smpte = (frame, r = rate) => clock.shown(frame, r);
  const frameAt = (seconds, r = rate) => clock.frameAt(seconds, r);
  const secondsOf = (frame, r = rate) => clock.secondsOf(frame, r);
  const currentFrame = () => (video ? frameAt(video.currentTime) : 0);

  function seek(seconds) {
    if (!video || !Number.isFinite(seconds)) return;
    const end = Number.isFinite(video.duration) ? video.duration : Infinity;
    video.currentTime = Math.min(Math.max(0, seconds), end);
  }
  // Land in the middle of a frame, so rounding in the browser never shows the one before.
  const seekFrame = (frame) => seek(secondsOf(Math.max(0, frame) + 0.5));

  // ---- timecode, playhead, the note that is playing -------------------------------------
  const scrub = document.getElementById("scrub");
  const playhead = document.getElementById("playhead");
  const notes = Array.from(document.querySelectorAll("#notes .note[data-start]"))
    .filter((li) => li.dataset.start !== "")
    .map((li) => {
      const r = parseRate(li.dataset.rate || "");
      const start = secondsOf(Number(li.dataset.start), r);
      const end = li.dataset.end !== "" ? secondsOf(Number(li.dataset.end) + 1, r) : null;
      return { li, start, end };
    });
  let current = null;

  function follow(time) {
    let playing = null;
    for (const n of notes) {
      if (n.start <= time + 1e-3 && (n.end === null ? time - n.start < 2 : time < n.end)) {
        playing = n;
      }
    }
    if (playing === current) return;
    if (current) current.li.classList.remove("current");
    current = playing;
    if (current) {
      current.li.classList.add("current");
      const pane = current.li.closest(".notes-pane");
      if (pane && pane.scrollHeight > pane.clientHeight) current.li.scrollIntoView({ block: "nearest" });
    }
  }

  function update() {
    if (!video) return;
    const time = video.currentTime;
    if (display) display.textContent = smpte(frameAt(time));
    const length = video.duration || Number(scrub && scrub.dataset.duration) || 0;
    if (playhead && length) playhead.style.left = `${Math.min(100, (time / length) * 100)}%`;
    follow(time);
  }

  function loop() {
    update();
    if (video && !video.paused) requestAnimationFrame(loop);
  }

  // Placed here rather than by a style attribute, which the page's CSP refuses.
  for (const marker of document.querySelectorAll(".scrub .marker[data-at]")) {
    marker.style.left = `${marker.dataset.at}%`;
  }

  if (video) {
    for (const name of ["timeupdate", "seeked", "loadedmetadata"]) video.addEventListener(name, update);
    video.addEventListener("play", () => requestAnimationFrame(loop));
    video.addEventListener("ratechange", update);
  }

  // ---- seeking by clicks ----------------------------------------------------------------
  if (scrub) {
    scrub.addEventListener("click", (event) => {
      if (event.target.closest(".marker")) return;
      const box = scrub.getBoundingClientRect();
      const length = (video && video.duration) || Number(scrub.dataset.duration) || 0;
      if (box.width && length) seek(((event.clientX - box.left) / box.width) * length);
    });
  }
  document.addEventListener("click", (event) => {
    const timed = event.target.closest("[data-time]");
    if (timed && video) {
      seek(Number(timed.dataset.time));
      if (timed.tagName === "A") event.preventDefault();
      return;
    }
    const marker = event.target.closest(".marker, .note .seek");
    if (marker && video) {
      const li = marker.classList.contains("marker")
        ? document.getElementById(`note-${marker.dataset.note}`)
        : marker.closest(".note");
      if (li && li.dataset.start !== "") {
        seekFrameAt(li);
        video.pause();
      }
    }
  });

  function seekFrameAt(li) {
    const r = parseRate(li.dataset.rate || "");
    seek(secondsOf(Number(li.dataset.start) + 0.5, r));
  }

  // #t=12.5 (seconds) or #note-12 in the address: start there.
  function fromHash() {
    const hash = decodeURIComponent(location.hash.slice(1));
    if (hash.startsWith("t=")) seek(Number(hash.slice(2)));
    else if (hash.startsWith("note-")) {
      const li = document.getElementById(hash);
      const note = li && li.closest(".note");
      if (note && note.dataset.start !== "") seekFrameAt(note);
    }
  }
  if (video) {
    if (video.readyState >= 1) fromHash();
    else video.addEventListener("loadedmetadata", fromHash, { once: true });
    window.addEventListener("hashchange", fromHash);
  }

  // ---- marks, the note form and the select form -----------------------------------------
  const field = (id) => document.getElementById(id);

  function showMarks() {
    const shown = (frame) => (frame === null ? "—" : smpte(frame));
    if (field("mark-in")) field("mark-in").textContent = shown(marks.in);
    if (field("mark-out")) field("mark-out").textContent = shown(marks.out);
    // For the page's other scripts (redact.js marks sounds from them): frames, or "".
    const held = field("marks");
    if (held) {
      held.dataset.in = marks.in === null ? "" : marks.in;
      held.dataset.out = marks.out === null ? "" : marks.out;
    }
    const start = field("select-start");
    const end = field("select-end");
    if (start && end && marks.in !== null && marks.out !== null && marks.out > marks.in) {
      start.value = marks.in;
      end.value = marks.out;
      field("select-range").textContent = `${smpte(marks.in)}–${smpte(marks.out)}`;
    }
  }

  function placeNote(start, end) {
    const s = field("note-start");
    const e = field("note-end");
    if (!s || !e) return;
    s.value = start === null ? "" : start;
    e.value = end === null ? "" : end;
    const at = field("note-at");
    if (at) {
      at.textContent =
        start === null ? strings.general || "general" : smpte(start) + (end !== null ? `–${smpte(end)}` : "");
    }
    const untime = field("note-untime");
    if (untime) untime.hidden = start === null;
  }

  function noteHere() {
    if (!noteBody) return;
    const ranged = marks.in !== null && marks.out !== null && marks.out > marks.in;
    if (ranged) placeNote(marks.in, marks.out);
    else placeNote(currentFrame(), null);
    if (video) video.pause();
    noteBody.focus();
  }

  const untime = field("note-untime");
  if (untime) untime.addEventListener("click", () => placeNote(null, null));
  if (noteBody) {
    noteBody.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && noteBody.value.trim()) {
        event.preventDefault();
        noteBody.form.requestSubmit();
      } else if (event.key === "Escape") {
        noteBody.blur();
      }
    });
  }

  // ---- keyboard ---------------------------------------------------------------------------
  function typing(target) {
    return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
  }

  document.addEventListener("keydown", (event) => {
    if (!video || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    switch (key) {
      case " ":
        if (event.target === video) return; // the native controls handle it
        video.paused ? video.play() : video.pause();
        break;
      case "k":
        video.pause();
        video.playbackRate = 1;
        break;
      case "l":
        if (video.paused) {
          video.playbackRate = 1;
          video.play();
        } else {
          video.playbackRate = Math.min(video.playbackRate * 2, 4);
        }
        break;
      case "j":
        video.pause();
        video.playbackRate = 1;
        seek(video.currentTime - 1);
        break;
      // ← back, → forward in Arabic pages too: they move along the scrub bar and the strip,
      // which keep time left to right (rushes.css, .scrub), as video editors do.
      case "ArrowLeft":
      case "ArrowRight":
        video.pause();
        seekFrame(currentFrame() + (key === "ArrowLeft" ? -1 : 1));
        break;
      case "i":
        marks.in = currentFrame();
        if (marks.out !== null && marks.out <= marks.in) marks.out = null;
        showMarks();
        break;
      case "o":
        marks.out = currentFrame();
        if (marks.in !== null && marks.in >= marks.out) marks.in = null;
        showMarks();
        break;
      case "n":
        noteHere();
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  update();
})();
