// Positions in a clip, for the player page's scripts (player.js, redact.js): frames at the
// clip's rate and SMPTE timecode, with the same arithmetic as rushes.media.timecode
// (drop-frame at 29.97 and 59.94). `shown` is a timecode as the page shows it, in its digits
// (<html data-intl>, as the server's |smpte); what the page sends stays in frames or seconds.
"use strict";
window.RushesTime = (() => {
  function parseRate(text) {
    const [num, den] = String(text || "1000/1").split("/").map(Number);
    return { num: num || 1000, den: den || 1 };
  }

  function smpte(frame, r) {
    const nominal = Math.round(r.num / r.den);
    const drop = r.den === 1001 && (r.num === 30000 || r.num === 60000) ? r.num / 15000 : 0;
    let f = Math.max(0, Math.floor(frame));
    if (drop) {
      const perTen = nominal * 600 - drop * 9;
      const perMinute = nominal * 60 - drop;
      const tens = Math.floor(f / perTen);
      const rest = f % perTen;
      f += drop * 9 * tens + (rest > drop ? drop * Math.floor((rest - drop) / perMinute) : 0);
    }
    const pad = (n) => String(n).padStart(2, "0");
    const seconds = Math.floor(f / nominal);
    return `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:` +
      `${pad(seconds % 60)}${drop ? ";" : ":"}${pad(f % nominal)}`;
  }

  const frameAt = (seconds, r) => Math.floor((seconds * r.num) / r.den + 0.001);
  const secondsOf = (frame, r) => (frame * r.den) / r.num;

  // Each Latin digit of `text` in the page's digits, as Locale.figures on the server.
  const digit = new Intl.NumberFormat(document.documentElement.dataset.intl, { useGrouping: false });
  const figures = (text) => String(text).replace(/[0-9]/g, (d) => digit.format(Number(d)));
  const shown = (frame, r) => figures(smpte(frame, r));

  return Object.freeze({ parseRate, smpte, frameAt, secondsOf, figures, shown });
})();
