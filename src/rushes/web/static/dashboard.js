// The incident map on the configured tiles. The server has already drawn every point on a
// plain grid (#incident-map); this swaps that drawing for Leaflet, reading the points from it,
// so a page whose scripts fail still shows the drawn map. Titles go in as text, never as HTML.
(function () {
  "use strict";
  var box = document.getElementById("leaflet-map");
  var drawn = document.getElementById("plot-box");
  if (!box || !drawn || !window.L) return;

  function text(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span;
  }

  box.hidden = false;
  drawn.hidden = true;
  var map = L.map(box, { scrollWheelZoom: false });
  var strings = JSON.parse(document.getElementById("page-strings").textContent);
  var credit = text(strings.mapTiles.replace("{host}", box.dataset.attribution)).outerHTML;
  L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: credit }).addTo(map);
  var bounds = [];
  drawn.querySelectorAll("a.point").forEach(function (point) {
    var at = [parseFloat(point.dataset.lat), parseFloat(point.dataset.lon)];
    var dot = point.querySelector("circle");
    var href = point.getAttribute("href");
    L.circleMarker(at, {
      radius: 7, weight: 1, color: "#222", fillColor: getComputedStyle(dot).fill, fillOpacity: 0.9,
    })
      .bindTooltip(text(point.querySelector("title").textContent))
      .on("click", function () { window.location.href = href; })
      .addTo(map);
    bounds.push(at);
  });
  map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
})();
