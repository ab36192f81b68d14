// The dashboard's charts: uPlot (vendored) over the counts the page carries (data-chart).
// Redrawn on resize and when the theme changes (axis and grid colours follow it).
(function () {
  "use strict";
  var STATUS_COLOURS = {
    processed: "#18a058", received: "#2f6fed", failed: "#e08a00", dead: "#d03b36", ignored: "#8a94a6"
  };
  var PALETTE = ["#2f6fed", "#18a058", "#e08a00", "#9b59d0", "#d03b36", "#00a3bf", "#c2185b", "#6d7b8d"];
  var charts = [];

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  function colourOf(kind, name, index) {
    if (kind === "by_status" && STATUS_COLOURS[name]) return STATUS_COLOURS[name];
    return PALETTE[index % PALETTE.length];
  }
  function draw(data) {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    document.querySelectorAll(".chart[data-series]").forEach(function (box) {
      var kind = box.dataset.series;
      var names = Object.keys(data[kind]).sort();
      box.textContent = "";
      if (!names.length) {
        var empty = document.createElement("div");
        empty.className = "chart-empty";
        empty.textContent = "No events in this window.";
        box.appendChild(empty);
        return;
      }
      var axis = { stroke: css("--muted"), grid: { stroke: css("--border"), width: 1 }, ticks: { stroke: css("--border") } };
      var series = [{}].concat(names.map(function (name, i) {
        var colour = colourOf(kind, name, i);
        return { label: name, stroke: colour, width: 2, fill: colour + "22", points: { show: false } };
      }));
      var fmt = window.uPlot.fmtDate(data.times.length > 100 ? "{MM}-{DD} {HH}:{mm}" : "{HH}:{mm}");
      var utc = function (ts) { return window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); };
      var options = {
        tzDate: utc,
        width: Math.max(box.clientWidth, 240),
        height: 240,
        series: series,
        axes: [
          Object.assign({ values: function (u, splits) { return splits.map(function (v) { return fmt(utc(v)); }); } }, axis),
          Object.assign({ size: 44 }, axis)
        ],
        scales: { y: { range: function (u, min, max) { return [0, Math.max(max, 4)]; } } },
        cursor: { points: { size: 6 } },
        legend: { live: true }
      };
      var columns = [data.times].concat(names.map(function (name) { return data[kind][name]; }));
      charts.push(new window.uPlot(options, columns, box));
    });
  }

  function current() {
    var node = document.getElementById("dashboard-inner");
    return node ? JSON.parse(node.dataset.chart) : null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!current()) return;
    draw(current());
    var timer = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { draw(current()); }, 150);
    });
    document.addEventListener("console:theme", function () { draw(current()); });
    // The timed refresh swapped in new figures and data: draw the new charts.
    document.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target.id === "dashboard-body") draw(current());
    });
  });
})();
