/* propscope web page: sends the article to POST /api/v1/analyze and shows the technique spans.
 *
 * Security: article text, titles and every string that comes back from the server are put into the page
 * with textContent / createTextNode only, never as HTML. Colours are checked against #rrggbb.
 */
"use strict";

(function () {
  const API = "/api/v1";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const state = {
    techniques: [],      // [{name, label, definition, colour}]
    byName: new Map(),
    analysis: null,
    hidden: new Set(),   // technique names switched off in the legend
    pinned: null,        // the mark whose tooltip was opened by a tap/click
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (k === "class") node.className = v;
        else if (k === "text") node.textContent = v;
        else node.setAttribute(k, v);
      }
    }
    for (const c of children) node.append(c);  // strings become text nodes
    return node;
  }

  function safeColour(c) {
    return /^#[0-9a-fA-F]{6}$/.test(c || "") ? c : "#999999";
  }

  function techniqueInfo(name) {
    return state.byName.get(name) || { name, label: name, definition: "", colour: "#999999" };
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = !message;
  }

  function setStatus(message) {
    $("status").textContent = message || "";
  }

  async function readJson(response) {
    const body = await response.text();
    try {
      return JSON.parse(body);
    } catch (e) {
      return { detail: body.slice(0, 500) || response.statusText };
    }
  }

  function describeError(status, payload) {
    let detail = payload && payload.detail;
    if (typeof detail !== "string") detail = JSON.stringify(detail);
    return `The server refused the request (HTTP ${status}): ${detail}`;
  }

  // ---------------------------------------------------------------------------------------------------
  // Start-up: technique table and model name
  // ---------------------------------------------------------------------------------------------------

  async function loadTechniques() {
    const r = await fetch(`${API}/techniques`);
    if (!r.ok) throw new Error(describeError(r.status, await readJson(r)));
    state.techniques = await r.json();
    state.byName = new Map(state.techniques.map((t) => [t.name, t]));
  }

  async function loadHealth() {
    try {
      const r = await fetch("/healthz");
      if (!r.ok) return;
      const h = await r.json();
      const mb = (h.max_body_bytes / 1e6).toLocaleString(undefined, { maximumFractionDigits: 1 });
      $("model-info").textContent = `Model: ${h.model} · propscope ${h.version} · up to ${mb} MB per article`;
    } catch (e) {
      /* the page still works without it */
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Analyse
  // ---------------------------------------------------------------------------------------------------

  async function analyze(payload) {
    showError("");
    hideTooltip(true);
    const button = $("analyze-button");
    button.disabled = true;
    setStatus("Analysing…");
    const started = performance.now();
    try {
      if (!state.techniques.length) await loadTechniques();
      const r = await fetch(`${API}/analyze`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload),
      });
      const data = await readJson(r);
      if (!r.ok) {
        setStatus("");
        showError(describeError(r.status, data));
        return;
      }
      state.analysis = data;
      state.hidden.clear();
      render();
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      setStatus(`Done in ${secs} s.`);
    } catch (e) {
      setStatus("");
      showError(`Could not reach the propscope server: ${e.message || e}`);
    } finally {
      button.disabled = false;
    }
  }

  function payloadFromForm() {
    const text = $("article-text").value;
    const title = $("article-title").value.trim();
    const payload = { text };
    if (title) payload.title = title;
    return payload;
  }

  function onSubmit(event) {
    event.preventDefault();
    if (!$("article-text").value.trim()) {
      showError("Paste an article first (or upload a .txt or .html file).");
      return;
    }
    analyze(payloadFromForm());
  }

  function onFile(event) {
    const file = event.target.files && event.target.files[0];
    if (!file) return;
    const isHtml = /\.html?$/i.test(file.name) || file.type === "text/html";
    const reader = new FileReader();
    reader.onerror = () => showError(`Could not read ${file.name}: ${reader.error}`);
    reader.onload = () => {
      const content = String(reader.result || "");
      const payload = isHtml ? { html: content } : { text: content };
      const title = $("article-title").value.trim();
      if (title) payload.title = title;
      if (!isHtml) $("article-text").value = content;
      setStatus(`Read ${file.name} (${isHtml ? "HTML" : "text"}).`);
      analyze(payload);
    };
    reader.readAsText(file);
    event.target.value = "";  // choosing the same file again analyses it again
  }

  // ---------------------------------------------------------------------------------------------------
  // Rendering
  // ---------------------------------------------------------------------------------------------------

  function render() {
    const a = state.analysis;
    $("results").hidden = false;
    renderArticle(a);
    renderLegend(a);
    renderChart(a);
    const n = a.spans.length;
    const kinds = Object.values(a.counts || {}).filter((c) => c > 0).length;
    $("summary").textContent =
      `${n} span${n === 1 ? "" : "s"} of ${kinds} technique${kinds === 1 ? "" : "s"} · model ${a.model || "?"}`;
  }

  /* Split the text at every span boundary; each segment knows the spans that cover it. */
  function segments(text, spans) {
    const cuts = new Set([0, text.length]);
    for (const s of spans) {
      cuts.add(s.start);
      cuts.add(s.end);
    }
    const points = [...cuts].filter((p) => p >= 0 && p <= text.length).sort((x, y) => x - y);
    const out = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const a = points[i];
      const b = points[i + 1];
      const covering = spans
        .filter((s) => s.start <= a && s.end >= b)
        .sort((x, y) => (x.end - x.start) - (y.end - y.start) || y.confidence - x.confidence);
      out.push({ start: a, end: b, covering });
    }
    return out;
  }

  function renderArticle(a) {
    const view = $("article-view");
    view.replaceChildren();
    const text = a.article.text;
    const spans = a.spans.map((s, index) => ({ ...s, index })).filter((s) => !state.hidden.has(s.technique));
    const titleEnd = text.indexOf("\n");
    for (const seg of segments(text, spans)) {
      const piece = text.slice(seg.start, seg.end);
      if (!seg.covering.length) {
        view.append(document.createTextNode(piece));
        continue;
      }
      const inner = seg.covering[0];
      const info = techniqueInfo(inner.technique);
      const mark = el("mark", {
        class: `ps-span ps-t-${inner.technique.replace(/[^A-Za-z0-9_-]/g, "_")}` +
               (seg.covering.length > 1 ? " ps-overlap" : ""),
        tabindex: "0",
        "data-technique": inner.technique,
        "data-techniques": seg.covering.map((s) => s.technique).join("|"),
        "data-spans": seg.covering.map((s) => s.index).join(","),
        "aria-label": seg.covering.map((s) => techniqueInfo(s.technique).label).join(", "),
      });
      mark.textContent = piece;
      mark.style.backgroundColor = safeColour(info.colour) + "55";
      mark.style.boxShadow = seg.covering
        .map((s, i) => `0 ${2 * (i + 1)}px 0 0 ${safeColour(techniqueInfo(s.technique).colour)}`)
        .join(", ");
      if (titleEnd > 0 && seg.start < titleEnd) mark.classList.add("ps-title-line");
      view.append(mark);
    }
    // The title line (up to the first newline) is shown in bold: wrap its leading text nodes.
    if (titleEnd > 0) boldTitle(view, titleEnd);
  }

  function boldTitle(view, titleEnd) {
    let pos = 0;
    for (const node of [...view.childNodes]) {
      if (pos >= titleEnd) break;
      const len = node.textContent.length;
      if (node.nodeType === Node.TEXT_NODE) {
        const take = Math.min(len, titleEnd - pos);
        const strong = el("span", { class: "ps-title-line" }, node.textContent.slice(0, take));
        const rest = node.textContent.slice(take);
        node.replaceWith(strong, ...(rest ? [document.createTextNode(rest)] : []));
      }
      pos += len;
    }
  }

  function renderLegend(a) {
    const list = $("legend");
    list.replaceChildren();
    const counts = a.counts || {};
    const order = [...state.techniques].sort((x, y) => (counts[y.name] || 0) - (counts[x.name] || 0));
    for (const t of order) {
      const n = counts[t.name] || 0;
      const swatch = el("span", { class: "ps-swatch", "aria-hidden": "true" });
      swatch.style.backgroundColor = safeColour(t.colour);
      const item = el("li", {
        class: (n ? "" : "ps-zero ") + (state.hidden.has(t.name) ? "ps-off" : ""),
        "data-technique": t.name,
        title: t.definition,
        role: "button",
        tabindex: "0",
        "aria-pressed": state.hidden.has(t.name) ? "false" : "true",
      }, swatch, el("span", { class: "ps-name", text: t.label }), el("span", { class: "ps-count", text: String(n) }));
      const toggle = () => {
        if (state.hidden.has(t.name)) state.hidden.delete(t.name);
        else state.hidden.add(t.name);
        hideTooltip(true);
        renderArticle(state.analysis);
        renderLegend(state.analysis);
      };
      item.addEventListener("click", toggle);
      item.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          toggle();
        }
      });
      list.append(item);
    }
  }

  /* Horizontal bars: share of the spans per technique (techniques that occur only). */
  function renderChart(a) {
    const box = $("chart");
    box.replaceChildren();
    const counts = a.counts || {};
    const rows = state.techniques.filter((t) => (counts[t.name] || 0) > 0)
      .sort((x, y) => counts[y.name] - counts[x.name]);
    if (!rows.length) {
      box.append(el("p", { class: "ps-empty", text: "No technique found in this article." }));
      return;
    }
    const total = rows.reduce((acc, t) => acc + counts[t.name], 0);
    const max = Math.max(...rows.map((t) => counts[t.name]));
    const W = 300, rowH = 22, labelW = 150, barMax = W - labelW - 40;
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${rows.length * rowH + 4}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Number of spans per technique");
    rows.forEach((t, i) => {
      const y = i * rowH + 2;
      const n = counts[t.name];
      const label = document.createElementNS(SVG_NS, "text");
      label.setAttribute("x", String(labelW - 6));
      label.setAttribute("y", String(y + rowH * 0.68));
      label.setAttribute("text-anchor", "end");
      label.setAttribute("font-size", "11");
      label.textContent = t.label.length > 26 ? t.label.slice(0, 25) + "…" : t.label;
      const bar = document.createElementNS(SVG_NS, "rect");
      bar.setAttribute("x", String(labelW));
      bar.setAttribute("y", String(y + 3));
      bar.setAttribute("height", String(rowH - 7));
      bar.setAttribute("width", String(Math.max(2, (barMax * n) / max)));
      bar.setAttribute("fill", safeColour(t.colour));
      bar.setAttribute("rx", "2");
      const tip = document.createElementNS(SVG_NS, "title");
      tip.textContent = `${t.label}: ${n} span${n === 1 ? "" : "s"} (${Math.round((100 * n) / total)}%)`;
      bar.append(tip);
      const value = document.createElementNS(SVG_NS, "text");
      value.setAttribute("x", String(labelW + Math.max(2, (barMax * n) / max) + 4));
      value.setAttribute("y", String(y + rowH * 0.68));
      value.setAttribute("font-size", "11");
      value.textContent = String(n);
      svg.append(label, bar, value);
    });
    box.append(svg);
  }

  // ---------------------------------------------------------------------------------------------------
  // Tooltip
  // ---------------------------------------------------------------------------------------------------

  function showTooltip(mark) {
    const tip = $("tooltip");
    const a = state.analysis;
    const indices = (mark.dataset.spans || "").split(",").filter(Boolean).map(Number);
    const spans = indices.map((i) => a.spans[i]).filter(Boolean);
    tip.replaceChildren();
    for (const s of spans) {
      const info = techniqueInfo(s.technique);
      const swatch = el("span", { class: "ps-swatch", "aria-hidden": "true" });
      swatch.style.backgroundColor = safeColour(info.colour);
      const conf = el("span", { class: "ps-tip-conf", text: `confidence ${(100 * s.confidence).toFixed(0)}%` });
      tip.append(el("div", { class: "ps-tip-item", "data-technique": s.technique },
        el("div", { class: "ps-tip-head" }, swatch, el("span", { class: "ps-tip-label", text: info.label }), conf),
        el("p", { class: "ps-tip-def", text: info.definition })));
    }
    tip.hidden = false;
    const r = mark.getBoundingClientRect();
    const tw = tip.offsetWidth;
    const th = tip.offsetHeight;
    let left = window.scrollX + r.left;
    left = Math.min(left, window.scrollX + document.documentElement.clientWidth - tw - 8);
    left = Math.max(window.scrollX + 8, left);
    let top = window.scrollY + r.bottom + 8;
    if (r.bottom + th + 12 > window.innerHeight && r.top - th - 8 > 0) top = window.scrollY + r.top - th - 8;
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
    document.querySelectorAll("mark.ps-active").forEach((m) => m.classList.remove("ps-active"));
    mark.classList.add("ps-active");
  }

  function hideTooltip(force) {
    if (state.pinned && !force) return;
    state.pinned = null;
    $("tooltip").hidden = true;
    document.querySelectorAll("mark.ps-active").forEach((m) => m.classList.remove("ps-active"));
  }

  function markFrom(target) {
    return target && target.closest ? target.closest("mark.ps-span:not(.ps-hidden)") : null;
  }

  function wireTooltip() {
    const view = $("article-view");
    view.addEventListener("mouseover", (e) => {
      const m = markFrom(e.target);
      if (m && !state.pinned) showTooltip(m);
    });
    view.addEventListener("mouseout", (e) => {
      const m = markFrom(e.target);
      if (m && !markFrom(e.relatedTarget)) hideTooltip(false);
    });
    view.addEventListener("click", (e) => {   // taps on touch screens
      const m = markFrom(e.target);
      if (!m) return;
      if (state.pinned === m) {
        hideTooltip(true);
      } else {
        state.pinned = m;
        showTooltip(m);
      }
    });
    view.addEventListener("focusin", (e) => {
      const m = markFrom(e.target);
      if (m) showTooltip(m);
    });
    view.addEventListener("focusout", () => hideTooltip(false));
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape") hideTooltip(true);
    });
    document.addEventListener("click", (e) => {
      if (state.pinned && !markFrom(e.target)) hideTooltip(true);
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // Download
  // ---------------------------------------------------------------------------------------------------

  function downloadJson() {
    const a = state.analysis;
    if (!a) return;
    const blob = new Blob([JSON.stringify(a, null, 2) + "\n"], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const safeId = String(a.article.id || "article").replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80);
    const link = el("a", { href: url, download: `${safeId}.analysis.json` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // ---------------------------------------------------------------------------------------------------

  function start() {
    $("analyze-form").addEventListener("submit", onSubmit);
    $("article-file").addEventListener("change", onFile);
    $("download-json").addEventListener("click", downloadJson);
    wireTooltip();
    loadHealth();
    loadTechniques().catch((e) => showError(String(e.message || e)));
    document.body.dataset.ready = "1";
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
