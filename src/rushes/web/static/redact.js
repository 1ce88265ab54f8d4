// The clip's redactions over the player (_redactions.html). Everyone who sees the clip sees
// its regions drawn over the picture as it plays, placed as share copies place them: `at`
// below is Region.at of rushes/media/redact.py step for step (held still before the first
// keyframe and after the last, in straight lines between), so the box shown is the box hidden.
//
// Those who may share (the page shows them #redact-tools) draw a region in Redact mode: drag
// a box on the paused picture, go to another moment and drag it again (or move it) to add a
// keyframe, set where it starts and ends, name it and save it; they mark sounds to mute or
// bleep from the I/O marks, and delete any redaction. All through the clip's JSON API; any
// change makes the share preview out of date (the server drops it; the page says so).
"use strict";
(() => {
  const panel = document.getElementById("redactions");
  if (!panel) return;
  const video = document.getElementById("player");
  const layer = document.getElementById("redaction-layer");
  const list = document.getElementById("redaction-list");
  const field = (id) => document.getElementById(id);
  const clock = window.RushesTime;
  const rate = clock.parseRate(panel.dataset.rate);
  const strings = JSON.parse(document.getElementById("page-strings")?.textContent || "{}");
  const csrf = document.querySelector("meta[name=csrf]")?.content || "";
  const saved = JSON.parse(field("redactions-data").textContent);
  const boxes = new Map(); // a saved region's id -> its box over the picture
  let drawMore = () => {}; // the editor's own drawing (the region being drawn), once it runs

  // Where a region is at time t, as shares of the picture (x, y, w, h), or null.
  function at(region, t) {
    const frames = [...region.keyframes].sort((a, b) => a.t - b.t); // stable, as sorted()
    if (!frames.length || !(region.start <= t && t <= region.end)) return null;
    if (t <= frames[0].t) return [frames[0].x, frames[0].y, frames[0].w, frames[0].h];
    for (let i = 0; i + 1 < frames.length; i++) {
      const a = frames[i];
      const b = frames[i + 1];
      if (a.t <= t && t <= b.t) {
        const share = b.t === a.t ? 0 : (t - a.t) / (b.t - a.t);
        return [[a.x, b.x], [a.y, b.y], [a.w, b.w], [a.h, b.h]].map(([pa, pb]) => pa + (pb - pa) * share);
      }
    }
    const last = frames[frames.length - 1];
    return [last.x, last.y, last.w, last.h];
  }

  // ---- drawing over the picture -------------------------------------------------------------
  function place(box, [x, y, w, h]) {
    box.style.left = `${x * 100}%`;
    box.style.top = `${y * 100}%`;
    box.style.width = `${w * 100}%`;
    box.style.height = `${h * 100}%`;
  }

  // The layer covers the picture itself, not the black bars beside or above it.
  function fit() {
    if (!layer || !video || !video.videoWidth || !video.clientWidth) return;
    const scale = Math.min(video.clientWidth / video.videoWidth, video.clientHeight / video.videoHeight);
    const width = video.videoWidth * scale;
    const height = video.videoHeight * scale;
    layer.style.left = `${video.offsetLeft + (video.clientWidth - width) / 2}px`;
    layer.style.top = `${video.offsetTop + (video.clientHeight - height) / 2}px`;
    layer.style.width = `${width}px`;
    layer.style.height = `${height}px`;
  }

  function draw() {
    if (!layer || !video) return;
    const t = video.currentTime;
    for (const region of saved) {
      if (region.kind !== "region") continue;
      let box = boxes.get(region.id);
      if (!box) {
        box = document.createElement("div");
        box.className = "redaction-box";
        box.dataset.id = region.id;
        box.title = region.label;
        layer.append(box);
        boxes.set(region.id, box);
      }
      const where = at(region, t);
      box.hidden = where === null;
      if (where) place(box, where);
    }
    for (const [id, box] of boxes) {
      if (!saved.some((r) => r.id === id)) {
        box.remove();
        boxes.delete(id);
      }
    }
    drawMore();
  }

  function loop() {
    draw();
    if (video && !video.paused) requestAnimationFrame(loop);
  }

  if (video && layer) {
    for (const name of ["timeupdate", "seeked", "loadedmetadata"]) video.addEventListener(name, draw);
    video.addEventListener("loadedmetadata", fit);
    video.addEventListener("play", () => requestAnimationFrame(loop));
    new ResizeObserver(fit).observe(video);
    fit();
    draw();
  }

  // ---- the editor (only for those who may share) ------------------------------------------
  const tools = field("redact-tools");
  if (!tools || !video || !layer) return;
  tools.hidden = false;
  const problem = field("redact-problem");
  const draftBox = document.createElement("div");
  draftBox.className = "redaction-box draft";
  draftBox.hidden = true;
  layer.append(draftBox);
  let draft = null; // {start, end, keyframes} of the region being drawn
  let drag = null; // {move, from, origin, box} while the pointer is down
  drawMore = () => showDraft();
  const clamp = (v, low = 0, high = 1) => Math.min(high, Math.max(low, v));
  const round = (v, places) => Math.round(v * 10 ** places) / 10 ** places;
  const now = () => round(video.currentTime, 3);
  const length = () => (Number.isFinite(video.duration) ? video.duration : Number(video.dataset.duration) || now() + 1);
  const timecode = (seconds) => clock.shown(clock.frameAt(seconds, rate), rate);
  const number = new Intl.NumberFormat(document.documentElement.dataset.intl);

  function say(text) {
    problem.textContent = text || "";
    problem.hidden = !text;
  }

  function showDraft() {
    const where = draft && !drag ? at({ ...draft, start: -Infinity, end: Infinity }, video.currentTime) : null;
    const box = drag ? drag.box : where;
    draftBox.hidden = !box;
    if (box) place(draftBox, box);
    field("redact-save").disabled = !draft;
    field("redact-boxes").textContent = draft
      ? `${(strings.boxes || "{count}").replace("{count}", number.format(draft.keyframes.length))} · ${timecode(draft.start)}–${timecode(draft.end)}`
      : "";
  }

  function point(event) {
    const area = layer.getBoundingClientRect();
    return [clamp((event.clientX - area.left) / area.width), clamp((event.clientY - area.top) / area.height)];
  }

  function inside([px, py], [x, y, w, h]) {
    return px >= x && px <= x + w && py >= y && py <= y + h;
  }

  layer.addEventListener("pointerdown", (event) => {
    if (!layer.classList.contains("drawing")) return;
    event.preventDefault();
    video.pause();
    layer.setPointerCapture(event.pointerId);
    const from = point(event);
    const here = draft && at({ ...draft, start: -Infinity, end: Infinity }, video.currentTime);
    drag = here && inside(from, here)
      ? { move: true, from, origin: here, box: here }
      : { move: false, from, origin: null, box: [from[0], from[1], 0, 0] };
    showDraft();
  });

  layer.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const [px, py] = point(event);
    const [fx, fy] = drag.from;
    if (drag.move) {
      const [x, y, w, h] = drag.origin;
      drag.box = [clamp(x + px - fx, 0, 1 - w), clamp(y + py - fy, 0, 1 - h), w, h];
    } else {
      drag.box = [Math.min(fx, px), Math.min(fy, py), Math.abs(px - fx), Math.abs(py - fy)];
    }
    showDraft();
  });

  function release() {
    if (!drag) return;
    const [x, y, w, h] = drag.box;
    drag = null;
    if (w >= 0.005 && h >= 0.005) keyframe(x, y, w, h);
    showDraft();
  }
  layer.addEventListener("pointerup", release);
  layer.addEventListener("pointercancel", release);

  // A box at the playhead: a new keyframe, or the one already at this frame replaced.
  function keyframe(x, y, w, h) {
    const t = now();
    const frame = clock.secondsOf(1, rate);
    if (!draft) draft = { start: t, end: round(length(), 3), keyframes: [] };
    draft.keyframes = draft.keyframes.filter((k) => Math.abs(k.t - t) >= frame / 2);
    const box = { t, x: round(x, 4), y: round(y, 4), w: round(Math.min(w, 1 - x), 4), h: round(Math.min(h, 1 - y), 4) };
    draft.keyframes.push(box);
    draft.keyframes.sort((a, b) => a.t - b.t);
    draft.start = Math.min(draft.start, t);
    draft.end = Math.max(draft.end, t);
    say("");
  }

  field("redact-mode").addEventListener("click", (event) => {
    const on = !layer.classList.contains("drawing");
    layer.classList.toggle("drawing", on);
    event.currentTarget.setAttribute("aria-pressed", String(on));
    field("redact-draft").hidden = !on;
    if (on) video.pause();
    showDraft();
  });
  field("redact-start").addEventListener("click", () => {
    if (!draft) return say(strings.drawFirst);
    draft.start = now();
    showDraft();
  });
  field("redact-end").addEventListener("click", () => {
    if (!draft) return say(strings.drawFirst);
    draft.end = now();
    showDraft();
  });
  field("redact-cancel").addEventListener("click", () => {
    draft = null;
    say("");
    showDraft();
  });
  field("redact-save").addEventListener("click", () => {
    if (!draft) return say(strings.drawFirst);
    const label = field("redact-label").value.trim();
    add({ kind: "region", label, start: draft.start, end: draft.end, keyframes: draft.keyframes }).then((made) => {
      if (!made) return;
      draft = null;
      field("redact-label").value = "";
      draw();
    });
  });

  // Sounds: from the I/O marks (player.js keeps them on #marks, in frames), else one second.
  function soundRange() {
    const marks = field("marks")?.dataset || {};
    if (marks.in && marks.out && Number(marks.out) > Number(marks.in)) {
      return [clock.secondsOf(Number(marks.in), rate), clock.secondsOf(Number(marks.out) + 1, rate)];
    }
    return [now(), Math.min(now() + 1, length())];
  }
  for (const kind of ["mute", "bleep"]) {
    field(`sound-${kind}`).addEventListener("click", () => {
      const [start, end] = soundRange();
      const label = field("sound-label").value.trim();
      add({ kind, label, start: round(start, 3), end: round(end, 3) }).then((made) => {
        if (made) field("sound-label").value = "";
      });
    });
  }

  // A share copy of only the marked range: the I/O marks, sent in seconds (empty without them:
  // the server then says to set them).
  field("share-form")?.addEventListener("submit", () => {
    const marks = field("marks")?.dataset || {};
    const marked = marks.in && marks.out && Number(marks.out) > Number(marks.in);
    const seconds = (frame) => round(clock.secondsOf(frame, rate), 3);
    field("share-start").value = marked ? seconds(Number(marks.in)) : "";
    field("share-end").value = marked ? seconds(Number(marks.out) + 1) : "";
  });

  // ---- the list, the API --------------------------------------------------------------------
  async function send(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      let reason = response.statusText;
      try {
        const answer = await response.json();
        reason = answer.message || answer.detail || reason;
      } catch (_) {
        // not JSON: the status says it
      }
      throw new Error(reason);
    }
    return response.status === 204 ? null : response.json();
  }

  function failed(error) {
    say((strings.notSaved || "{reason}").replace("{reason}", error.message));
    return null;
  }

  function add(body) {
    return send("POST", panel.dataset.api, body).then((made) => {
      saved.push(made);
      list.append(row(made));
      changed();
      return made;
    }, failed);
  }

  function row(made) {
    const item = field("redaction-row").content.firstElementChild.cloneNode(true);
    item.dataset.id = made.id;
    item.dataset.kind = made.kind;
    const when = item.querySelector(".redaction-at");
    when.dataset.time = made.start;
    when.href = `#t=${made.start.toFixed(3)}`;
    when.textContent = `${timecode(made.start)}–${timecode(made.end)}`;
    item.querySelector(".redaction-kind").textContent = (strings.kinds || {})[made.kind] || made.kind;
    item.querySelector(".redaction-label").textContent = made.label;
    return item;
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest(".redaction-delete");
    if (!button) return;
    const item = button.closest(".redaction");
    const id = Number(item.dataset.id);
    send("DELETE", `${panel.dataset.api}/${id}`).then(() => {
      item.remove();
      saved.splice(saved.findIndex((r) => r.id === id), 1);
      changed();
      draw();
    }, failed);
  });

  // The preview no longer shows what a copy would hide: say so, offer a new one.
  function changed() {
    say("");
    field("redaction-count").textContent = number.format(saved.length);
    for (const id of ["preview-ready", "preview-jobs"]) {
      if (field(id)) field(id).hidden = true;
    }
    if (field("preview-stale")) field("preview-stale").hidden = false;
    if (field("preview-form")) field("preview-form").hidden = false;
  }
})();
