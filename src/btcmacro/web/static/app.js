/* btcmacro dashboard: draws the charts of the page from the local JSON API with the bundled Plotly.
   No request leaves 127.0.0.1. Each chart div gets data-state="drawn" and data-points=<n> once drawn. */
(function () {
  "use strict";

  var PAGE = JSON.parse(document.getElementById("page-data") ? document.getElementById("page-data").textContent : "{}");
  var LABELS = PAGE.labels || {};
  var CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
  var BAND_COLOURS = { resistance: "rgba(214,39,40,0.16)", support: "rgba(44,160,44,0.16)", target: "rgba(31,119,180,0.16)" };
  var LINE_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"];

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error((body && body.message) || ("HTTP " + r.status)); }
        return body;
      });
    });
  }

  function numeric(values) {
    return values.map(function (v) { return typeof v === "number" ? v : (typeof v === "boolean" ? (v ? 1 : 0) : null); });
  }

  function fail(div, err) {
    div.dataset.state = "error";
    div.textContent = String(err && err.message ? err.message : err);
  }

  function draw(div, traces, layout, name) {
    div.textContent = "";
    var cfg = Object.assign({}, CONFIG, { toImageButtonOptions: { format: "png", filename: name || div.id, scale: 2 } });
    var base = { margin: { l: 60, r: 60, t: 20, b: 40 }, hovermode: "x unified", legend: { orientation: "h", y: 1.08 } };
    return Plotly.newPlot(div, traces, Object.assign(base, layout), cfg).then(function () {
      var n = traces.reduce(function (acc, t) { return acc + t.x.length; }, 0);
      div.dataset.points = String(n);
      div.dataset.state = n ? "drawn" : "empty";
      if (!n) { div.insertAdjacentHTML("afterbegin", "<p class='empty'></p>"); div.querySelector("p.empty").textContent = LABELS.no_data || "no data"; }
    });
  }

  /* Levels as horizontal bands across the chart: a zone (low < high) fills low..high; a single
     price gets a thin band (+-0.3 %) with an edge so it stays visible. Annotations on a log axis
     take log10 of the value (Plotly's convention); shapes take data values. */
  function levelBands(levels, logAxis) {
    var shapes = [], annotations = [];
    (levels || []).forEach(function (l) {
      if (typeof l.low !== "number" || typeof l.high !== "number") { return; }
      var lo = Math.min(l.low, l.high), hi = Math.max(l.low, l.high), point = hi === lo;
      var colour = BAND_COLOURS[l.kind] || "rgba(127,127,127,0.16)";
      shapes.push({ type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", layer: "below",
                    y0: point ? lo * 0.997 : lo, y1: point ? hi * 1.003 : hi, fillcolor: colour,
                    line: { width: point ? 1 : 0, color: colour.replace("0.16", "0.5") } });
      var mid = (lo + hi) / 2, pos = logAxis ? Math.log10(mid) : mid;
      var gap = logAxis ? 0.018 : 0;  /* skip a label that would sit on top of another one */
      if (annotations.some(function (a) { return Math.abs(a.y - pos) < gap; })) { return; }
      annotations.push({ xref: "paper", x: 1, xanchor: "right", yref: "y", y: pos,
                         text: (l.names && l.names[PAGE.lang]) || l.name || l.kind || "", showarrow: false,
                         font: { size: 9, color: "#5d6675" } });
    });
    return { shapes: shapes, annotations: annotations };
  }

  /* The report's HODL-wave chart (btcmacro.report.charts.plan, served by /api/briefing/charts as
     `hodl`): one stacked area per age band, youngest at the bottom, 0-100 % of the supply. */
  function hodlChart(div, h, asOf) {
    if (!h || !h.bands || !h.bands.length) { fail(div, LABELS.no_data); return; }
    var traces = h.bands.map(function (b) {
      return { type: "scatter", mode: "lines", stackgroup: "bands", name: (b.names && b.names[PAGE.lang]) || b.key,
               x: h.x, y: numeric(b.y), fillcolor: b.color, line: { color: b.color, width: 0.5 },
               hovertemplate: "%{y:.2f}%" };
    });
    draw(div, traces, { yaxis: { range: [0, 100], title: { text: (h.axis_label && h.axis_label[PAGE.lang]) || "%" } },
                        legend: { orientation: "h", y: -0.12, traceorder: "normal" }, margin: { l: 60, r: 20, t: 20, b: 40 } },
         "btcmacro_hodl_waves_" + asOf).catch(function (e) { fail(div, e); });
  }

  function briefingPage() {
    var asOf = PAGE.as_of;
    getJSON("/api/briefing/charts?as_of=" + encodeURIComponent(asOf)).then(function (d) {
      var div = document.getElementById("btc-chart");
      var traces = [{ type: "scatter", mode: "lines", name: d.price.names[PAGE.lang] || d.price.id, x: d.price.x,
                      y: numeric(d.price.y), line: { color: "#f7931a", width: 1.6 } }];
      var i = 0;
      Object.keys(d.overlays).forEach(function (id) {
        var o = d.overlays[id];
        var start = d.price.x.length ? d.price.x[0] : null;
        var keep = o.x.map(function (x) { return !start || x >= start; });
        traces.push({ type: "scatter", mode: "lines", name: o.names[PAGE.lang] || id, x: o.x.filter(function (_, k) { return keep[k]; }),
                      y: numeric(o.y).filter(function (_, k) { return keep[k]; }), line: { width: 1, color: LINE_COLOURS[i++ % LINE_COLOURS.length] } });
      });
      var bands = levelBands(d.levels, true);
      draw(div, traces, { yaxis: { type: "log", title: { text: "USD" } }, shapes: bands.shapes, annotations: bands.annotations },
           "btcmacro_btc_price_" + asOf).catch(function (e) { fail(div, e); });
      var hdiv = document.getElementById("chart-hodl_waves");
      if (hdiv) { hodlChart(hdiv, d.hodl, asOf); }
      document.querySelectorAll(".chart.small").forEach(function (cdiv) {
        var id = cdiv.dataset.metric, c = d.charts[id];
        if (!c) { fail(cdiv, LABELS.no_data); return; }
        draw(cdiv, [{ type: "scatter", mode: "lines", name: c.names[PAGE.lang] || id, x: c.x, y: numeric(c.y), line: { width: 1.4 } }],
             { showlegend: false, margin: { l: 60, r: 10, t: 10, b: 30 }, yaxis: { title: { text: c.unit } } },
             "btcmacro_" + id + "_" + asOf).catch(function (e) { fail(cdiv, e); });
      });
    }).catch(function (e) {
      document.querySelectorAll(".chart").forEach(function (div) { fail(div, e); });
    });
  }

  function explorePage() {
    var div = document.getElementById("explore-chart");
    var ids = PAGE.metrics || [];
    var q = function (id) {
      var p = new URLSearchParams({ metric: id });
      ["as_of", "start", "end"].forEach(function (k) { if (PAGE[k]) { p.set(k, PAGE[k]); } });
      return "/api/series?" + p.toString();
    };
    var perm = document.getElementById("permalink");
    if (perm) { perm.href = window.location.pathname + window.location.search; }
    Promise.all(ids.map(function (id) { return getJSON(q(id)); })).then(function (all) {
      var twin = PAGE.twin && all.length === 2;
      var traces = all.map(function (s, k) {
        return { type: "scatter", mode: "lines", name: (PAGE.names[s.id] || s.id) + " (" + (s.unit || "") + ")",
                 x: s.data.map(function (p) { return p[0]; }), y: numeric(s.data.map(function (p) { return p[1]; })),
                 yaxis: twin && k === 1 ? "y2" : "y", line: { width: 1.5, color: LINE_COLOURS[k] } };
      });
      var type = PAGE.scale === "log" ? "log" : "linear";
      var layout = { yaxis: { type: type, title: { text: all.length ? (PAGE.units[all[0].id] || "") : "" } } };
      if (twin) {
        layout.yaxis2 = { type: type, overlaying: "y", side: "right", showgrid: false, title: { text: PAGE.units[all[1].id] || "" } };
      }
      var name = "btcmacro_" + ids.join("_").replace(/[^A-Za-z0-9_-]/g, "-") + "_" + (PAGE.as_of || "latest");
      return draw(div, traces, layout, name);
    }).catch(function (e) { fail(div, e); });
    var m2 = document.getElementById("m2"), tw = document.getElementById("twin");
    if (m2 && tw) {
      m2.addEventListener("change", function () { if (m2.value && !tw.dataset.touched) { tw.checked = true; } });
      tw.addEventListener("change", function () { tw.dataset.touched = "1"; });
    }
  }

  /* Status page: the URPD of the last indexed day from /api/chain/urpd, one bar per price bucket. */
  function statusPage() {
    var div = document.getElementById("urpd-chart");
    if (!div || !PAGE.chain) { return; }
    getJSON("/api/chain/urpd?buckets=50").then(function (u) {
      var meta = document.getElementById("urpd-meta");
      if (meta) {
        meta.textContent = "(" + u.date + " · " + LABELS.supply + " " + u.supply_btc.toLocaleString(PAGE.lang) +
          " BTC · " + (u.tip_hash ? u.tip_hash.slice(0, 8) + "…" + u.tip_hash.slice(-8) : "") +
          (u.height !== null ? " · " + LABELS.height + " " + u.height : "") + ")";
      }
      var fmt = function (v) { return Math.round(v).toLocaleString(PAGE.lang); };
      var traces = [{ type: "bar", orientation: "v", name: "URPD", marker: { color: "#f7931a" },
                      x: u.buckets.map(function (b) { return (b.price_low + b.price_high) / 2; }),
                      y: u.buckets.map(function (b) { return b.btc; }),
                      width: u.buckets.map(function (b) { return (b.price_high - b.price_low) * 0.9; }),
                      text: u.buckets.map(function (b) { return fmt(b.price_low) + "–" + fmt(b.price_high) + " USD"; }),
                      textposition: "none", hovertemplate: "%{text}: %{y:,.8f} BTC<extra></extra>" }];
      return draw(div, traces, { showlegend: false, hovermode: "closest",
                                 xaxis: { title: { text: LABELS.urpd_x } }, yaxis: { title: { text: LABELS.urpd_y } } },
                  "btcmacro_urpd_" + u.date);
    }).catch(function (e) { fail(div, e); });
  }

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("button.png") : null;
    if (!b) { return; }
    var div = document.getElementById(b.dataset.target);
    if (div && div.dataset.state === "drawn") {
      Plotly.downloadImage(div, { format: "png", filename: (div.id || "chart"), scale: 2 });
    }
  });

  if (PAGE.page === "briefing") { briefingPage(); }
  if (PAGE.page === "explore") { explorePage(); }
  if (PAGE.page === "status") { statusPage(); }
})();
