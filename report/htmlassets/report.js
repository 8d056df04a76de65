// idsnap report: draws each source's charts with uPlot and makes the tables
// sortable and the changes filterable. Data comes from the JSON block that
// html/template wrote; nothing here builds markup from it (textContent
// only), and nothing is fetched.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent || "[]") || [];
  var utc = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); };
  var day = 86400;
  var colors = { users: "#1f5fbf", grants: "#d9822b", joined: "#2e8b3a", left: "#b22222", granted: "#7fbf7f", revoked: "#e08080" };
  var width = function (el) { return Math.max(360, Math.min(640, (el.parentElement.parentElement.clientWidth || 1200) / 2 - 24)); };
  var drawn = 0;

  function counts(el, d) {
    new uPlot({
      width: width(el), height: 240, tzDate: utc,
      scales: { x: { time: true } },
      series: [{},
        { label: "accounts", stroke: colors.users, width: 2, points: { show: true } },
        { label: "grants", stroke: colors.grants, width: 2, points: { show: true } }],
      axes: [{}, { size: 60 }]
    }, [d.t, d.users, d.grants], el);
    drawn++;
  }

  // Grouped bars: each series gets a quarter of the day, side by side.
  function days(el, d) {
    var names = ["joined", "left", "granted", "revoked"];
    var bw = 0.2 * day;
    var series = [{}];
    names.forEach(function (n, i) {
      series.push({
        label: n, fill: colors[n], stroke: colors[n], width: 0,
        paths: uPlot.paths.bars({
          disp: {
            x0: { unit: 1, values: function (u) { return u.data[0].map(function (x) { return x + (i - 2) * bw; }); } },
            size: { unit: 1, values: function (u) { return u.data[0].map(function () { return bw; }); } }
          }
        }),
        points: { show: false }
      });
    });
    // Each day's group of bars is centred on its noon, labelled by its date.
    var xs = d.days.map(function (x) { return x + day / 2; });
    var first = xs.length ? xs[0] : 0, last = xs.length ? xs[xs.length - 1] : 0;
    new uPlot({
      width: width(el), height: 240, tzDate: utc,
      scales: { x: { time: true, range: function () { return [first - 0.6 * day, last + 0.6 * day]; } },
                y: { range: function (u, min, max) { return [0, Math.max(1, max) * 1.1]; } } },
      series: series,
      axes: [
        { incrs: [day, 2 * day, 7 * day, 14 * day, 28 * day], space: 70,
          values: function (u, splits) { return splits.map(function (s) { return new Date((s - day / 2) * 1e3).toISOString().slice(0, 10); }); },
          splits: function (u, i, min, max, incr) { return xs.filter(function (x, j) { return j % Math.max(1, Math.round(incr / day)) === 0; }); } },
        { size: 50, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000] }]
    }, [xs, d.joined, d.left, d.granted, d.revoked], el);
    drawn++;
  }

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var d = data[Number(el.dataset.index)];
    if (!d) { return; }
    if (el.dataset.chart === "counts") { counts(el, d); } else { days(el, d); }
  });
  document.documentElement.dataset.chartsDrawn = String(drawn);

  // Sorting: numbers as numbers, the rest as text; a second click reverses.
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var ths = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(ths, function (th, col) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(ths, function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var num = th.dataset.type === "num";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col] ? a.cells[col].textContent : "", y = b.cells[col] ? b.cells[col].textContent : "";
          var c = num ? (Number(x) - Number(y)) : x.localeCompare(y);
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });

  // Filtering the changes: every word must appear in the row.
  var filter = document.getElementById("filter");
  var shown = document.getElementById("shown");
  if (filter) {
    filter.addEventListener("input", function () {
      var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      var rows = document.getElementById("changes-table").tBodies[0].rows, n = 0;
      Array.prototype.forEach.call(rows, function (r) {
        var text = r.textContent.toLowerCase();
        var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
        r.hidden = !ok;
        if (ok) { n++; }
      });
      shown.textContent = n + " of " + rows.length;
    });
  }
})();
