/* Small SVG charts for the propscope pages, with no library and nothing from the network.
 *
 * PSChart.figure(box, spec) draws a captioned chart and a "Show the numbers" table of the same values.
 * spec = {caption, series: [{name, colour}], rows: [{label, values: [number per series]}], format(v)}.
 * One series gives plain horizontal bars; several give grouped bars (e.g. two outlets side by side; a series
 * with {faded: true} is drawn lighter and outlined). spec.kind = "columns" gives stacked columns over time
 * instead (rows are periods, series are techniques; axes labelled with spec.xName and spec.yName), with a
 * legend. 
 * Labels sit on their own line above their bars and the drawing is sized to its text after measuring it,
 * so no label is ever cut. Every string is put in as a text node.
 */
"use strict";

window.PSChart = (function () {
  const SVG_NS = "http://www.w3.org/2000/svg";

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function html(tag, cls, ...children) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    for (const c of children) node.append(c);
    return node;
  }

  function safeColour(c) {
    return /^#[0-9a-fA-F]{6}$/.test(c || "") ? c : "#6b7480";
  }

  const FONT = 12, BAR = 12, GAP = 3, ROW_GAP = 10, PAD = 4;

  /* Horizontal bars, grouped when there are several series. Returns the <svg>. */
  function bars(box, spec) {
    const series = spec.series || [{ name: "", colour: "#1f5fa8" }];
    const rows = spec.rows || [];
    const fmt = spec.format || ((v) => String(v));
    const max = Math.max(1e-9, ...rows.flatMap((r) => r.values.map((v) => Number(v) || 0)));
    const root = svg("svg", { role: "img", "aria-label": spec.caption || "chart", class: "ps-svg-chart" });
    if (spec.caption) root.append(svg("title", {}, spec.caption));
    box.append(root);  // in the document so that text can be measured

    const rowH = FONT + 4 + series.length * (BAR + GAP) + ROW_GAP;
    const barMax = spec.barWidth || 200;
    let width = barMax;
    const values = [];
    rows.forEach((r, i) => {
      const y = PAD + i * rowH;
      const label = svg("text", { x: PAD, y: y + FONT, "font-size": FONT, class: "ps-chart-label" }, r.label);
      root.append(label);
      width = Math.max(width, label.getComputedTextLength());
      series.forEach((s, k) => {
        const v = Number(r.values[k]) || 0;
        const by = y + FONT + 4 + k * (BAR + GAP);
        const w = Math.max(v > 0 ? 2 : 0, (barMax * v) / max);
        const fill = safeColour(r.colour || s.colour);
        const bar = svg("rect", { x: PAD, y: by, width: w, height: BAR, rx: 2, fill });
        if (s.faded) {
          bar.setAttribute("fill-opacity", "0.4");
          bar.setAttribute("stroke", fill);
          bar.setAttribute("stroke-width", "1.5");
        }
        bar.append(svg("title", {}, `${r.label}${s.name ? ` (${s.name})` : ""}: ${fmt(v)}`));
        const value = svg("text", { x: PAD + w + 4, y: by + BAR - 2, "font-size": FONT - 1, class: "ps-chart-value" },
          fmt(v) + (series.length > 1 && s.name ? ` ${s.name}` : ""));
        root.append(bar, value);
        values.push([value, w]);
      });
    });
    for (const [node, w] of values) width = Math.max(width, w + 4 + node.getComputedTextLength());
    const height = PAD * 2 + rows.length * rowH - ROW_GAP;
    // a margin of PAD on both sides: some glyphs reach a little left of their text's x
    root.setAttribute("viewBox", `0 0 ${Math.ceil(width + 2 * PAD)} ${Math.ceil(height)}`);
    root.setAttribute("width", String(Math.ceil(width + 2 * PAD)));
    root.setAttribute("height", String(Math.ceil(height)));
    return root;
  }

  /* A round number at or above m, for the top of an axis. */
  function niceMax(m) {
    const p = Math.pow(10, Math.floor(Math.log10(m)));
    for (const k of [1, 2, 2.5, 5, 10]) if (k * p >= m) return k * p;
    return 10 * p;
  }

  /* Stacked columns: one column per row (a period), one stack piece per series (a technique). */
  function columns(box, spec) {
    const series = spec.series || [];
    const rows = spec.rows || [];
    const fmt = spec.format || ((v) => String(v));
    const totals = rows.map((r) => r.values.reduce((a, v) => a + (Number(v) || 0), 0));
    const top = niceMax(Math.max(1e-9, ...totals));
    const root = svg("svg", { role: "img", "aria-label": spec.caption || "chart", class: "ps-svg-chart" });
    if (spec.caption) root.append(svg("title", {}, spec.caption));
    box.append(root);
    const PLOT = 200;
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => top * f);
    const tickNodes = ticks.map((t) => svg("text", { "font-size": FONT - 1, class: "ps-chart-value",
      "text-anchor": "end" }, fmt(Math.round(t * 100) / 100)));
    tickNodes.forEach((n) => root.append(n));
    const tickW = Math.max(...tickNodes.map((n) => n.getComputedTextLength()));
    const yTitle = svg("text", { "font-size": FONT, class: "ps-chart-label", "text-anchor": "middle" }, spec.yName || "");
    root.append(yTitle);
    const left = PAD + FONT + 6 + tickW + 6;
    const topY = PAD + FONT;
    const labels = rows.map((r) => svg("text", { "font-size": FONT - 1, class: "ps-chart-value", "text-anchor": "middle" },
      r.label));
    labels.forEach((n) => root.append(n));
    const labelW = Math.max(10, ...labels.map((n) => n.getComputedTextLength()));
    const colW = Math.max(3, Math.min(36, Math.floor((spec.width || 720) / Math.max(1, rows.length))));
    const step = Math.max(1, Math.ceil((labelW + 8) / colW));
    const plotW = colW * rows.length;
    const baseY = topY + PLOT;
    ticks.forEach((t, i) => {
      const y = baseY - (PLOT * t) / top;
      tickNodes[i].setAttribute("x", left - 6);
      tickNodes[i].setAttribute("y", y + 4);
      root.insertBefore(svg("line", { x1: left, x2: left + plotW, y1: y, y2: y, class: "ps-grid-line" }), root.firstChild.nextSibling);
    });
    yTitle.setAttribute("transform", `translate(${PAD + FONT}, ${topY + PLOT / 2}) rotate(-90)`);
    rows.forEach((r, i) => {
      let y = baseY;
      const x = left + i * colW;
      series.forEach((s, k) => {
        const v = Number(r.values[k]) || 0;
        if (v <= 0) return;
        const h = (PLOT * v) / top;
        y -= h;
        const rect = svg("rect", { x: x + (colW > 6 ? 1 : 0), y, width: Math.max(1, colW - (colW > 6 ? 2 : 0)), height: h,
          fill: safeColour(s.colour) });
        rect.append(svg("title", {}, `${r.label} · ${s.name}: ${fmt(v)}`));
        root.append(rect);
      });
      const label = labels[i];
      if (i % step === 0) {
        label.setAttribute("x", x + colW / 2);
        label.setAttribute("y", baseY + FONT + 4);
      } else {
        label.remove();
      }
    });
    root.append(svg("line", { x1: left, x2: left + plotW, y1: baseY, y2: baseY, class: "ps-axis-line" }));
    const xTitle = svg("text", { x: left + plotW / 2, y: baseY + 2 * FONT + 12, "font-size": FONT,
      class: "ps-chart-label", "text-anchor": "middle" }, spec.xName || "");
    root.append(xTitle);
    const width = Math.ceil(left + plotW + labelW / 2 + 2 * PAD);
    const height = Math.ceil(baseY + 2 * FONT + 12 + 2 * PAD);
    root.setAttribute("viewBox", `0 0 ${width} ${height}`);
    root.setAttribute("width", String(width));
    root.setAttribute("height", String(height));
    return root;
  }

  /* Swatch and name of each series (used under stacked columns). */
  function legend(series) {
    const ul = html("ul", "ps-chart-legend");
    for (const s of series) {
      const sw = html("span", "ps-swatch");
      sw.setAttribute("aria-hidden", "true");
      sw.style.backgroundColor = safeColour(s.colour);
      ul.append(html("li", null, sw, s.name));
    }
    return ul;
  }

  /* The same numbers as a table. */
  function table(spec) {
    const series = spec.series || [{ name: spec.valueName || "value" }];
    const fmt = spec.format || ((v) => String(v));
    const t = html("table", "ps-chart-table");
    if (spec.caption) t.append(html("caption", null, spec.caption));
    const head = html("tr", null, html("th", null, spec.labelName || ""));
    for (const s of series) head.append(html("th", null, s.name || spec.valueName || "value"));
    head.querySelectorAll("th").forEach((th) => th.setAttribute("scope", "col"));
    t.append(html("thead", null, head));
    const body = html("tbody");
    for (const r of spec.rows || []) {
      const th = html("th", null, r.label);
      th.setAttribute("scope", "row");
      const tr = html("tr", null, th);
      series.forEach((s, k) => tr.append(html("td", null, fmt(Number(r.values[k]) || 0))));
      body.append(tr);
    }
    t.append(body);
    return t;
  }

  let counter = 0;

  /* A chart with a button that shows its numbers as a table instead. */
  function figure(box, spec) {
    box.replaceChildren();
    if (!(spec.rows || []).length) {
      box.append(html("p", "ps-empty", spec.empty || "Nothing to show."));
      return;
    }
    const id = `ps-chart-table-${++counter}`;
    const fig = html("figure", "ps-figure");
    const chartBox = html("div", "ps-figure-chart");
    const tableBox = html("div", "ps-figure-table", table(spec));
    tableBox.id = id;
    tableBox.hidden = true;
    const toggle = html("button", "ps-secondary ps-small", "Show the numbers");
    toggle.type = "button";
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", id);
    toggle.addEventListener("click", () => {
      const show = tableBox.hidden;
      tableBox.hidden = !show;
      chartBox.hidden = show;
      toggle.setAttribute("aria-expanded", String(show));
      toggle.textContent = show ? "Show the chart" : "Show the numbers";
    });
    fig.append(chartBox, tableBox, html("figcaption", null, spec.caption || "", " ", toggle));
    box.append(fig);
    if (spec.kind === "columns") {
      chartBox.tabIndex = 0;  // it scrolls sideways when there are many periods: keyboard users can too
      chartBox.setAttribute("role", "group");
      chartBox.setAttribute("aria-label", `${spec.caption || "chart"} (scrolls sideways)`);
      columns(chartBox, spec);
      chartBox.append(legend(spec.series || []));
    } else {
      bars(chartBox, spec);
    }
  }

  return { bars, columns, table, figure };
})();
