/* propscope web page: the analyser view. It sends an article to POST /api/v1/analyze (or a URL to
 * /api/v1/fetch when the server allows it) and shows the technique spans.
 *
 * Views: each view is a <div class="ps-view" data-view=NAME> with a link in the view switcher; the page URL
 * holds the view and its settings (?view=analyse&min=0.45&hide=Doubt&hide=Slogans), so a copied link
 * reproduces what is shown and Back works. Another script (a later Explore view) adds its view with
 * window.propscopePage.registerView(name, {label, element, enter}) before the page starts, or after.
 *
 * Security: article text, titles and every string that comes back from the server are put into the page
 * with textContent / createTextNode only, never as HTML. Colours are checked against #rrggbb.
 */
"use strict";

(function () {
  const API = "/api/v1";
  const TOKEN_KEY = "propscope-token";
  const state = {
    techniques: [],      // [{name, label, short, definition, colour}]
    byName: new Map(),
    model: null,         // GET /api/v1/model
    analysis: null,      // what the results show: the analyser's own, or a stored article (Explore)
    own: null,           // the analyser's own last analysis
    home: null,          // where the results section lives in the analyser view
    hidden: new Set(),   // technique names switched off in the legend
    threshold: 0,        // spans under this confidence are not highlighted
    pinned: null,        // the mark whose tooltip was opened by a tap/click
    reuse: [],           // passages of the article reused from or by another one: [{start, end, label}]
    busy: null,          // {controller, timer} while a request runs
    token: sessionStorage.getItem(TOKEN_KEY) || "",
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
    return /^#[0-9a-fA-F]{6}$/.test(c || "") ? c : "#6b7480";
  }

  /* #rrggbb with an alpha in [0, 1] as #rrggbbaa */
  function tint(colour, alpha) {
    const a = Math.round(Math.max(0, Math.min(1, alpha)) * 255).toString(16).padStart(2, "0");
    return safeColour(colour) + a;
  }

  const pct = (x) => `${Math.round(100 * x)}%`;
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  function techniqueInfo(name) {
    return state.byName.get(name) || { name, label: name, short: name, definition: "", colour: "#6b7480" };
  }

  function setStatus(message) {
    $("status").textContent = message || "";
  }

  /* An error replaces whatever was shown: stale results are cleared. */
  function showError(message) {
    const box = $("error");
    box.textContent = message || "";
    box.hidden = !message;
    if (message) clearResults();
  }

  function clearResults() {
    hideTooltip(true);
    state.analysis = null;
    if (!state.home || $("results").parentNode === state.home) state.own = null;
    $("results").hidden = true;
    $("article-view").replaceChildren();
  }

  async function readJson(response) {
    const body = await response.text();
    try {
      return JSON.parse(body);
    } catch (e) {
      return { detail: body.slice(0, 500) || response.statusText };
    }
  }

  function describeError(status, payload, what) {
    let detail = payload && payload.detail;
    if (typeof detail !== "string") detail = JSON.stringify(detail);
    return `${what ? `Could not analyse ${what}` : "The server refused the request"}: ${detail} (HTTP ${status})`;
  }

  function authHeaders() {
    return state.token ? { Authorization: `Bearer ${state.token}` } : {};
  }

  // ---------------------------------------------------------------------------------------------------
  // URL state and views
  // ---------------------------------------------------------------------------------------------------

  const VIEWS = { analyse: { enter() {} } };

  /* Add a view: ``element`` is its container (hidden unless current), ``enter(params)`` runs when it is
   * shown, with the page URL's URLSearchParams. A link is added to the view switcher. */
  function registerView(name, { label, element, enter }) {
    element.classList.add("ps-view");
    element.dataset.view = name;
    element.hidden = true;
    if (!element.parentNode) $("main").append(element);
    VIEWS[name] = { enter: enter || (() => {}) };
    if (!document.querySelector(`#view-links a[data-view="${CSS.escape(name)}"]`)) {
      const a = el("a", { href: `?view=${encodeURIComponent(name)}`, "data-view": name }, label || name);
      a.addEventListener("click", onViewLink);
      $("view-links").append(el("li", null, a));
    }
    if (document.body.dataset.ready === "1" && readUrl().view === name) applyUrl();
  }

  function readUrl() {
    const q = new URLSearchParams(location.search);
    const view = VIEWS[q.get("view")] ? q.get("view") : "analyse";
    const min = q.has("min") ? Number(q.get("min")) : null;
    const hide = q.getAll("hide").filter(Boolean);  // technique names hold commas: one parameter each
    return { view, min: Number.isFinite(min) && min >= 0 && min <= 1 ? min : null, hide };
  }

  /* Write the analyser's settings into the URL (replace: sliding must not fill the history). */
  function writeUrl() {
    const q = new URLSearchParams(location.search);
    if (!q.has("view")) q.set("view", "analyse");
    const def = defaultThreshold();
    if (Math.abs(state.threshold - def) > 1e-9) q.set("min", state.threshold.toFixed(2));
    else q.delete("min");
    q.delete("hide");
    for (const name of [...state.hidden].sort()) q.append("hide", name);
    const url = `${location.pathname}?${q.toString()}`;
    if (url !== location.pathname + location.search) history.replaceState(null, "", url);
  }

  function showView(name) {
    if (name === "analyse" && state.home && $("results").parentNode !== state.home) {
      state.home.append($("results"));  // back from a stored article: show the analyser's own results
      hideTooltip(true);
      state.analysis = state.own;
      state.reuse = [];
      if (!state.own) $("results").hidden = true;
    }
    document.querySelectorAll(".ps-view").forEach((v) => { v.hidden = v.dataset.view !== name; });
    document.querySelectorAll("#view-links a").forEach((a) => {
      if (a.dataset.view === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    VIEWS[name].enter(new URLSearchParams(location.search));
  }

  function applyUrl() {
    const u = readUrl();
    state.threshold = u.min !== null ? u.min : defaultThreshold();
    state.hidden = new Set(u.hide.filter((n) => !state.byName.size || state.byName.has(n)));
    $("threshold").value = String(state.threshold);
    updateThresholdLabel();
    showView(u.view);
    if (state.analysis && u.view === "analyse") render();
  }

  /* A view link changes the view with a new history entry, so Back returns to the previous view. */
  function onViewLink(e) {
    e.preventDefault();
    const name = e.currentTarget.dataset.view;
    if (readUrl().view === name) return;
    history.pushState(null, "", `${location.pathname}?view=${encodeURIComponent(name)}`);
    applyUrl();
  }

  function wireViews() {
    document.querySelectorAll("#view-links a").forEach((a) => a.addEventListener("click", onViewLink));
    window.addEventListener("popstate", applyUrl);
  }

  // ---------------------------------------------------------------------------------------------------
  // Start-up: technique table, model, token
  // ---------------------------------------------------------------------------------------------------

  async function loadTechniques() {
    const r = await fetch(`${API}/techniques`);
    if (!r.ok) throw new Error(describeError(r.status, await readJson(r)));
    state.techniques = await r.json();
    state.byName = new Map(state.techniques.map((t) => [t.name, t]));
  }

  function defaultThreshold() {
    const t = state.model && state.model.decision_threshold;
    return typeof t === "number" ? t : 0;
  }

  async function loadModel() {
    try {
      const r = await fetch(`${API}/model`);
      if (!r.ok) return;
      state.model = await r.json();
    } catch (e) {
      return;  /* the page still works without it */
    }
    const m = state.model;
    const mb = (m.max_body_bytes / 1e6).toLocaleString("en", { maximumFractionDigits: 1 });
    const thr = typeof m.decision_threshold === "number" ? ` · decision threshold ${pct(m.decision_threshold)}` : "";
    $("model-info").textContent = `Model: ${m.model}${thr} · propscope ${m.version} · up to ${mb} MB per article`;
    $("fetch-form").hidden = !m.allow_fetch;
    if (m.token_required && !state.token) askToken("This server asks for its access token before it analyses anything.");
  }

  function askToken(why) {
    $("token-why").textContent = why;
    $("token-box").hidden = false;
  }

  /* ?token=... in the address (as printed by the server) is taken once, then removed from the URL. */
  function takeTokenFromUrl() {
    const q = new URLSearchParams(location.search);
    if (!q.has("token")) return;
    state.token = q.get("token") || "";
    sessionStorage.setItem(TOKEN_KEY, state.token);
    q.delete("token");
    history.replaceState(null, "", `${location.pathname}${q.toString() ? "?" + q : ""}`);
  }

  function onToken(event) {
    event.preventDefault();
    state.token = $("token-input").value.trim();
    sessionStorage.setItem(TOKEN_KEY, state.token);
    $("token-input").value = "";
    $("token-box").hidden = true;
    setStatus(state.token ? "Token saved for this tab." : "");
  }

  // ---------------------------------------------------------------------------------------------------
  // Requests: progress, cancel, size limit
  // ---------------------------------------------------------------------------------------------------

  function maxBody() {
    return (state.model && state.model.max_body_bytes) || 2000000;
  }

  function sizeMessage(bytes, what) {
    const mb = (x) => (x / 1e6).toLocaleString("en", { maximumFractionDigits: 1 });
    return `${what} is ${mb(bytes)} MB, but this server takes articles of up to ${mb(maxBody())} MB. ` +
      "Analyse a shorter part of it, or use the command line: propscope analyze FILE.";
  }

  function setBusy(on, label) {
    $("analyze-button").disabled = on;
    $("fetch-button").disabled = on;
    $("cancel-button").hidden = !on;
    $("progress").hidden = !on;
    $("results").setAttribute("aria-busy", on ? "true" : "false");
    if (state.busy) clearInterval(state.busy.timer);
    if (!on) {
      state.busy = null;
      return;
    }
    const started = performance.now();
    const controller = new AbortController();
    const tick = () => setStatus(`${label}… ${Math.floor((performance.now() - started) / 1000)} s`);
    tick();
    state.busy = { controller, timer: setInterval(tick, 1000), started };
  }

  function cancel() {
    if (!state.busy) return;
    state.busy.controller.abort();
  }

  /* POST ``body`` to ``path`` and show the Analysis that comes back. */
  async function run(path, body, label, after, what) {
    if (state.busy) {
      setStatus("An analysis is still running: wait for it or cancel it first.");
      return;
    }
    const json = JSON.stringify(body);
    const bytes = new TextEncoder().encode(json).length;
    if (bytes > maxBody()) {
      showError(sizeMessage(bytes, "This article"));
      return;
    }
    showError("");
    hideTooltip(true);
    setBusy(true, label);
    const { controller, started } = state.busy;
    try {
      if (!state.techniques.length) await loadTechniques();
      const r = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", ...authHeaders() },
        body: json,
        signal: controller.signal,
      });
      const data = await readJson(r);
      if (!r.ok) {
        setStatus("");
        showError(describeError(r.status, data, what));
        if (r.status === 401) askToken("The server did not accept the token: enter it again.");
        return;
      }
      state.analysis = state.own = data;
      state.reuse = [];
      if (after) after(data);
      render();
      setStatus(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    } catch (e) {
      if (e && e.name === "AbortError") {
        clearResults();
        setStatus("Cancelled.");
      } else {
        setStatus("");
        showError(`Could not reach the propscope server: ${e.message || e}`);
      }
    } finally {
      setBusy(false);
    }
  }

  function onSubmit(event) {
    event.preventDefault();
    const text = $("article-text").value;
    if (!text.trim()) {
      showError("Paste an article first (or open a .txt or .html file).");
      return;
    }
    const payload = { text };
    const title = $("article-title").value.trim();
    if (title) payload.title = title;
    run(`${API}/analyze`, payload, "Analysing");
  }

  function onFetch(event) {
    event.preventDefault();
    const url = $("article-url").value.trim();
    if (!/^https?:\/\/\S+$/i.test(url)) {
      showError("Give the page's full address, starting with http:// or https://.");
      return;
    }
    run(`${API}/fetch`, { url }, "Fetching and analysing", (a) => {
      $("article-text").value = a.article.text;
      $("article-title").value = "";
    }, url);
  }

  /* A chosen file replaces the text in the form (HTML: with the article text the server took out of it). */
  function onFile(event) {
    const input = event.target;
    const file = input.files && input.files[0];
    if (!file) return;
    input.value = "";  // choosing the same file again analyses it again
    if (file.size > maxBody()) {
      showError(sizeMessage(file.size, `The file ${file.name}`));
      return;
    }
    const isHtml = /\.html?$/i.test(file.name) || file.type === "text/html";
    const reader = new FileReader();
    reader.onerror = () => showError(`Could not read ${file.name}: ${reader.error}`);
    reader.onload = () => {
      const content = String(reader.result || "");
      $("article-title").value = "";
      $("article-text").value = isHtml ? "" : content;
      run(`${API}/analyze`, isHtml ? { html: content } : { text: content }, `Analysing ${file.name}`, (a) => {
        if (isHtml) $("article-text").value = a.article.text;
      }, file.name);
    };
    reader.readAsText(file);
  }

  // ---------------------------------------------------------------------------------------------------
  // Rendering
  // ---------------------------------------------------------------------------------------------------

  function shownSpans(a) {
    return a.spans.map((s, index) => ({ ...s, index }))
      .filter((s) => s.confidence >= state.threshold - 1e-9 && !state.hidden.has(s.technique));
  }

  function countsAtThreshold(a) {
    const counts = {};
    for (const s of a.spans) if (s.confidence >= state.threshold - 1e-9) counts[s.technique] = (counts[s.technique] || 0) + 1;
    return counts;
  }

  function render() {
    const a = state.analysis;
    if (!a) return;
    $("results").hidden = false;
    renderArticle(a);
    renderLegend(a);
    renderChart(a);
    renderScore(a);
    renderSentences(a);
    const total = a.spans.length;
    const above = a.spans.filter((s) => s.confidence >= state.threshold - 1e-9).length;
    const shown = shownSpans(a).length;
    const kinds = Object.keys(countsAtThreshold(a)).length;
    let text = `${plural(above, "span")} of ${plural(kinds, "technique")} at confidence ${pct(state.threshold)} or more`;
    if (above < total) text += ` (${total - above} more below: lower the slider to see them)`;
    if (shown < above) text += `; ${above - shown} switched off in the legend`;
    $("summary").textContent = `${text} · model ${a.model || "?"}`;
    $("show-all").hidden = above === total;
    writeUrl();
  }

  function renderScore(a) {
    const meter = $("article-score");
    if (typeof a.score === "number") {
      meter.hidden = false;
      meter.value = a.score;
      const flagged = (a.sentences || []).filter((s) => s.n_spans > 0).length;
      const n = (a.sentences || []).length;
      $("score-text").textContent = `${a.score.toFixed(2)}: about ${pct(a.score)} of its text is expected to lie ` +
        `in technique spans; ${flagged} of its ${plural(n, "sentence")} hold one`;
    } else {
      meter.hidden = true;
      $("score-text").textContent = "not given by this server";
    }
  }

  function renderSentences(a) {
    const list = $("sentences");
    list.replaceChildren();
    const text = a.article.text;
    const top = [...(a.sentences || [])].filter((s) => s.score > 0).sort((x, y) => y.score - x.score).slice(0, 5);
    if (!top.length) {
      list.append(el("li", { class: "ps-empty", text: "No sentence holds a span." }));
      return;
    }
    for (const s of top) {
      let snippet = text.slice(s.start, s.end).replace(/\s+/g, " ").trim();
      if (snippet.length > 140) snippet = snippet.slice(0, 139) + "…";
      list.append(el("li", null, el("span", { class: "ps-sent-score", text: pct(s.score) }), " ", snippet));
    }
  }

  /* Split the text at every span boundary (and at the extra cuts: the end of the title line, reused
   * passages); each segment knows the spans that cover it. */
  function segments(text, spans, extraCuts) {
    const cuts = new Set([0, text.length]);
    for (const c of extraCuts) if (c > 0) cuts.add(c);
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

  function badge(span) {
    const info = techniqueInfo(span.technique);
    // drawn by CSS from data-label, so that the article's text (to read, copy or search) stays the article's;
    // screen readers get technique and confidence from the tooltip tied to the focused span
    const b = el("span", { class: "ps-badge", "data-span": String(span.index), "aria-hidden": "true",
      "data-label": `${info.short || info.label} ${pct(span.confidence)}` });
    b.style.borderColor = safeColour(info.colour);
    return b;
  }

  /* A reused passage: a box with a bar on its left (on every line) and a text label, so that it differs
   * from technique highlights by more than colour; its segments go inside. */
  function reuseBox(r) {
    const box = el("span", { class: "ps-reused", "data-reuse": r.label });
    box.append(el("span", { class: "ps-reuse-tag", "aria-hidden": "true", "data-label": `reused ${r.label}` }));
    return box;
  }

  function renderArticle(a) {
    const view = $("article-view");
    view.replaceChildren();
    const text = a.article.text;
    const spans = shownSpans(a);
    const titleEnd = text.indexOf("\n");
    const endsAt = new Map();
    for (const s of spans) {
      if (!endsAt.has(s.end)) endsAt.set(s.end, []);
      endsAt.get(s.end).push(s);
    }
    const reuse = state.reuse;
    let open = null;  // {range, box}: the reused passage being filled
    for (const seg of segments(text, spans, [titleEnd, ...reuse.flatMap((r) => [r.start, r.end])])) {
      const piece = text.slice(seg.start, seg.end);
      const inTitle = titleEnd > 0 && seg.start < titleEnd;
      const range = reuse.find((r) => r.start <= seg.start && r.end >= seg.end) || null;
      if (!range) open = null;
      else if (!open || open.range !== range) {
        open = { range, box: reuseBox(range) };
        view.append(open.box);
      }
      const into = open ? open.box : view;
      if (!seg.covering.length) {
        into.append(inTitle ? el("span", { class: "ps-title-line" }, piece) : document.createTextNode(piece));
      } else {
        const inner = seg.covering[0];
        const info = techniqueInfo(inner.technique);
        const mark = el("mark", {
          class: `ps-span ps-t-${inner.technique.replace(/[^A-Za-z0-9_-]/g, "_")}` +
                 (seg.covering.length > 1 ? " ps-overlap" : "") + (inTitle ? " ps-title-line" : ""),
          tabindex: "0",
          "data-technique": inner.technique,
          "data-techniques": seg.covering.map((s) => s.technique).join("|"),
          "data-spans": seg.covering.map((s) => s.index).join(","),
          "data-confidence": inner.confidence.toFixed(4),
        });
        mark.textContent = piece;
        // the tint grows with the confidence: a 20% span is pale, a 90% one strong
        mark.style.backgroundColor = tint(info.colour, 0.1 + 0.35 * inner.confidence);
        mark.style.boxShadow = seg.covering
          .map((s, i) => `0 ${2 * (i + 1)}px 0 0 ${safeColour(techniqueInfo(s.technique).colour)}`)
          .join(", ");
        into.append(mark);
      }
      for (const s of (endsAt.get(seg.end) || []).sort((x, y) => x.start - y.start)) into.append(badge(s));
    }
    view.classList.toggle("ps-no-badges", !$("show-badges").checked);
  }

  /* The legend is built once per analysis; toggles update it in place so that keyboard focus stays put. */
  function renderLegend(a) {
    const list = $("legend");
    const counts = countsAtThreshold(a);
    if (list.dataset.analysis !== a.article.id || list.children.length !== state.techniques.length) {
      list.replaceChildren();
      list.dataset.analysis = a.article.id;
      const all = a.counts || {};
      const order = [...state.techniques].sort((x, y) => (all[y.name] || 0) - (all[x.name] || 0));
      for (const t of order) list.append(legendItem(t));
    }
    for (const item of list.children) {
      const name = item.dataset.technique;
      const n = counts[name] || 0;
      const on = !state.hidden.has(name);
      item.classList.toggle("ps-zero", !n);
      item.classList.toggle("ps-off", !on);
      const toggle = item.querySelector(".ps-toggle");
      toggle.setAttribute("aria-pressed", String(on));
      item.querySelector(".ps-count").textContent = String(n);
    }
  }

  function legendItem(t) {
    const swatch = el("span", { class: "ps-swatch", "aria-hidden": "true" });
    swatch.style.backgroundColor = safeColour(t.colour);
    const toggle = el("button", { type: "button", class: "ps-toggle", title: t.definition },
      swatch, el("span", { class: "ps-name", text: t.label }),
      el("span", { class: "ps-short", "aria-hidden": "true", text: t.short || "" }),
      el("span", { class: "ps-count" }));
    toggle.addEventListener("click", () => {
      if (state.hidden.has(t.name)) state.hidden.delete(t.name);
      else state.hidden.add(t.name);
      hideTooltip(true);
      render();
    });
    const only = el("button", { type: "button", class: "ps-only", "aria-label": `Show only ${t.label}` }, "only");
    only.addEventListener("click", () => {
      state.hidden = new Set(state.techniques.map((x) => x.name).filter((n) => n !== t.name));
      hideTooltip(true);
      render();
    });
    return el("li", { "data-technique": t.name }, toggle, only);
  }

  function setAll(on) {
    state.hidden = on ? new Set() : new Set(state.techniques.map((t) => t.name));
    hideTooltip(true);
    render();
  }

  /* Bars: spans per technique at the current threshold (techniques that occur only). */
  function renderChart(a) {
    const counts = countsAtThreshold(a);
    const rows = state.techniques.filter((t) => counts[t.name])
      .sort((x, y) => counts[y.name] - counts[x.name])
      .map((t) => ({ label: t.label, colour: t.colour, values: [counts[t.name]] }));
    window.PSChart.figure($("chart"), {
      caption: `Spans per technique at confidence ${pct(state.threshold)} or more`,
      labelName: "technique", valueName: "spans",
      series: [{ name: "spans" }], rows, empty: "No technique found at this confidence.",
    });
  }

  function updateThresholdLabel() {
    $("threshold-value").textContent = pct(state.threshold);
  }

  function onThreshold() {
    state.threshold = Number($("threshold").value);
    updateThresholdLabel();
    hideTooltip(true);
    render();
  }

  // ---------------------------------------------------------------------------------------------------
  // Tooltip (tied to its span with aria-describedby)
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
      const conf = el("span", { class: "ps-tip-conf", text: `confidence ${pct(s.confidence)}` });
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
    clearActive();
    mark.classList.add("ps-active");
    mark.setAttribute("aria-describedby", "tooltip");
  }

  function clearActive() {
    document.querySelectorAll("mark.ps-active").forEach((m) => {
      m.classList.remove("ps-active");
      m.removeAttribute("aria-describedby");
    });
  }

  function hideTooltip(force) {
    if (state.pinned && !force) return;
    state.pinned = null;
    $("tooltip").hidden = true;
    clearActive();
  }

  function markFrom(target) {
    return target && target.closest ? target.closest("mark.ps-span") : null;
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

  /* Show a (stored) Analysis with the analyser's results section, moved into ``container`` (Explore's
   * article view). The analyser's own results come back when its view is shown again. */
  function showAnalysis(analysis, container) {
    hideTooltip(true);
    container.append($("results"));
    state.analysis = analysis;
    state.reuse = [];
    const u = readUrl();
    state.threshold = u.min !== null ? u.min : defaultThreshold();
    state.hidden = new Set(u.hide.filter((n) => !state.byName.size || state.byName.has(n)));
    $("threshold").value = String(state.threshold);
    updateThresholdLabel();
    render();
  }

  /* Mark passages of the shown article as reused (Explore's text reuse): ``ranges`` [{start, end, label}],
   * offsets into the article's text; overlapping ones are joined. An empty list removes the marks. */
  function setReuse(ranges) {
    const merged = [];
    for (const r of [...ranges].sort((x, y) => x.start - y.start)) {
      const last = merged[merged.length - 1];
      if (last && r.start < last.end) {
        last.end = Math.max(last.end, r.end);
        last.label = `${last.label}, ${r.label}`;
      } else if (r.end > r.start) {
        merged.push({ start: r.start, end: r.end, label: String(r.label) });
      }
    }
    state.reuse = merged;
    hideTooltip(true);
    if (state.analysis) renderArticle(state.analysis);
  }

  async function start() {
    state.home = $("results").parentNode;
    $("analyze-form").addEventListener("submit", onSubmit);
    $("fetch-form").addEventListener("submit", onFetch);
    $("token-form").addEventListener("submit", onToken);
    $("article-file").addEventListener("change", onFile);
    $("cancel-button").addEventListener("click", cancel);
    $("download-json").addEventListener("click", downloadJson);
    $("threshold").addEventListener("input", onThreshold);
    $("threshold-reset").addEventListener("click", () => {
      $("threshold").value = String(defaultThreshold());
      onThreshold();
    });
    $("show-badges").addEventListener("change", () => {
      $("article-view").classList.toggle("ps-no-badges", !$("show-badges").checked);
    });
    $("show-all").addEventListener("click", () => {
      $("threshold").value = "0";
      onThreshold();
      $("threshold").focus();
    });
    $("legend-all").addEventListener("click", () => setAll(true));
    $("legend-none").addEventListener("click", () => setAll(false));
    wireTooltip();
    wireViews();
    takeTokenFromUrl();
    await Promise.all([loadModel(), loadTechniques().catch((e) => showError(String(e.message || e)))]);
    applyUrl();
    document.body.dataset.ready = "1";
  }

  window.propscopePage = { registerView, showAnalysis, setReuse, el, readJson, describeError, authHeaders, safeColour,
    techniques: () => state.techniques, model: () => state.model };
  // after every deferred script has run, so that they can register their views first
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });
})();
