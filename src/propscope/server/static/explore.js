/* propscope web page: the Explore view, a corpus store in the browser (GET /api/v1/corpus/...).
 *
 * The page URL holds everything the view shows: the filters under the API's own names (from, to, outlet,
 * orientation, technique, search, min_confidence), the chart settings (period, metric, a, b), the list's
 * sort and page, and the article shown (article=ID). Each change pushes a history entry, so a copied link
 * reproduces the view and Back returns to the previous one. The filter parameters go to the API as they are.
 * In the article view, `reuse=ID` names the other article whose shared passages are shown (the text reuse
 * section, from GET /api/v1/corpus/articles/{id}/reuse); choosing another one replaces the URL.
 *
 * Without a store (GET /api/v1/corpus says store: null) the view is not added; one line under the header says
 * how to make a store. Every string from the store goes into the page as text (textContent), never as HTML.
 */
"use strict";

(function () {
  const API = "/api/v1/corpus";
  const FILTER_KEYS = ["from", "to", "outlet", "orientation", "technique", "search", "min_confidence"];
  const PAGE_SIZE = 20;
  const MAX_OUTLETS = 25;
  const page = window.propscopePage;
  const el = page.el;
  const $ = (id) => document.getElementById(id);
  const st = { outlets: [], info: null, seq: 0, built: false };

  const pct = (x) => (x > 0 && x < 0.005 ? "<1%" : `${Math.round(100 * x)}%`);
  const BAR_WIDTH = 420;
  const num = (x, d = 2) => (x === null || x === undefined ? "–" : Number(x).toFixed(d));

  function techniques() {
    return page.techniques();
  }

  function techInfo(name) {
    return techniques().find((t) => t.name === name) || { name, label: name, colour: "#6b7480", short: name };
  }

  async function getJson(path, params) {
    const url = `${API}${path}${params && params.toString() ? "?" + params.toString() : ""}`;
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    const data = await page.readJson(r);
    if (!r.ok) throw new Error(`${typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)} (HTTP ${r.status})`);
    return data;
  }

  /* The filters of the page URL, as API query parameters. */
  function filterParams(q) {
    const out = new URLSearchParams();
    for (const k of FILTER_KEYS) for (const v of q.getAll(k)) if (v !== "") out.append(k, v);
    return out;
  }

  function withParams(base, extra) {
    const out = new URLSearchParams(base);
    for (const [k, v] of extra) {
      if (Array.isArray(v)) {
        out.delete(k);
        v.forEach((x) => out.append(k, x));
      } else {
        out.set(k, v);
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------------
  // The view's markup (built once)
  // -------------------------------------------------------------------------------------------------

  function labelled(id, text, control) {
    control.id = id;
    return el("div", { class: "ps-field" }, el("label", { for: id, class: "ps-label" }, text), control);
  }

  function select(options, attrs) {
    const s = el("select", attrs || null);
    for (const [value, text] of options) s.append(el("option", { value }, text));
    return s;
  }

  function build() {
    const root = el("div", { id: "view-explore" });
    const filters = el("form", { id: "ex-filters", class: "ps-ex-filters", "aria-label": "Filters" },
      labelled("ex-from", "From (date)", el("input", { type: "date", name: "from" })),
      labelled("ex-to", "To (date)", el("input", { type: "date", name: "to" })),
      labelled("ex-search", "Words in the text", el("input", { type: "search", name: "search",
        placeholder: 'e.g. immigration "white house"' })),
      labelled("ex-min", "Minimum span confidence (0–1)", el("input", { type: "number", name: "min_confidence",
        min: "0", max: "1", step: "0.05", placeholder: "any" })),
      labelled("ex-outlets", "Outlets (Ctrl/Shift-click for several)", el("select", { multiple: "", size: "6",
        name: "outlet" })),
      el("fieldset", { id: "ex-orientations", class: "ps-ex-checks" }, el("legend", null, "Orientation")),
      el("fieldset", { id: "ex-techniques", class: "ps-ex-checks ps-ex-techs" }, el("legend", null, "Techniques")),
      el("div", { class: "ps-actions ps-ex-buttons" },
        el("button", { type: "submit" }, "Apply filters"),
        el("button", { type: "button", id: "ex-reset", class: "ps-secondary" }, "Clear filters")));

    const dash = el("div", { id: "ex-dashboard" },
      el("section", { "aria-labelledby": "ex-filters-heading" },
        el("h2", { id: "ex-filters-heading" }, "Explore the corpus"),
        el("p", { id: "ex-store", class: "ps-hint" }), filters,
        el("p", { id: "ex-summary", class: "ps-ex-summary", role: "status", "aria-live": "polite" })),
      el("div", { id: "ex-error", class: "ps-error", role: "alert", hidden: "" }),
      el("section", { "aria-labelledby": "ex-time-heading" },
        el("div", { class: "ps-ex-head" }, el("h2", { id: "ex-time-heading" }, "Techniques over time"),
          labelled("ex-tmetric", "Measure", select([["spans", "spans"], ["per1k", "spans per 1,000 words"]])),
          labelled("ex-period", "Per", select([["day", "day"], ["week", "week"], ["month", "month"], ["year", "year"]]))),
        el("div", { id: "ex-time", class: "ps-chart ps-ex-wide" })),
      el("section", { "aria-labelledby": "ex-outlets-heading" },
        el("div", { class: "ps-ex-head" }, el("h2", { id: "ex-outlets-heading" }, "Outlets compared"),
          labelled("ex-metric", "Measure", select([]))),
        el("div", { id: "ex-outlet-chart", class: "ps-chart" })),
      el("section", { "aria-labelledby": "ex-pair-heading" },
        el("div", { class: "ps-ex-head" }, el("h2", { id: "ex-pair-heading" }, "Two outlets' technique mix"),
          labelled("ex-a", "Outlet A", select([])), labelled("ex-b", "Outlet B", select([]))),
        el("div", { id: "ex-pair", class: "ps-chart" })),
      el("section", { "aria-labelledby": "ex-list-heading" },
        el("h2", { id: "ex-list-heading" }, "Articles"),
        el("div", { id: "ex-list" }),
        el("nav", { class: "ps-actions ps-ex-pager", "aria-label": "Pages of articles" },
          el("button", { type: "button", id: "ex-prev", class: "ps-secondary" }, "Previous page"),
          el("span", { id: "ex-page" }),
          el("button", { type: "button", id: "ex-next", class: "ps-secondary" }, "Next page"))));

    const art = el("div", { id: "ex-article", hidden: "" },
      el("p", null, el("a", { href: "?view=explore", id: "ex-back" }, "← Back to the list")),
      el("section", { "aria-labelledby": "ex-art-title" },
        el("h2", { id: "ex-art-title", tabindex: "-1" }), el("dl", { id: "ex-art-meta", class: "ps-ex-meta" })),
      el("div", { id: "ex-art-error", class: "ps-error", role: "alert", hidden: "" }),
      el("div", { id: "ex-art-results" }),
      el("section", { id: "ex-reuse", "aria-labelledby": "ex-reuse-heading" },
        el("h2", { id: "ex-reuse-heading" }, "Text reuse"),
        el("div", { id: "ex-reuse-body" }),
        el("div", { id: "ex-reuse-pair" })));
    root.append(dash, art);
    return root;
  }

  function fillChoices() {
    const outlets = $("ex-outlets");
    outlets.replaceChildren();
    for (const o of st.outlets) {
      const extra = [o.orientation, `${o.articles.toLocaleString("en")} articles`].filter(Boolean).join(", ");
      outlets.append(el("option", { value: o.name }, `${o.name} (${extra})`));
    }
    if (!st.outlets.length) {  // e.g. PTC files: no site, URL or --outlet
      outlets.hidden = true;
      outlets.before(el("p", { class: "ps-hint" }, "No article has an outlet (ingest --outlet NAME, or JSON Lines " +
        "with an outlet field)."));
    }
    const orients = [...new Set(st.outlets.map((o) => o.orientation).filter(Boolean))].sort();
    const of = $("ex-orientations");
    of.replaceChildren(el("legend", null, "Orientation"));
    if (!orients.length) of.append(el("p", { class: "ps-hint" }, "None known (propscope outlets import FILE.csv)"));
    orients.forEach((o, i) => of.append(el("label", { class: "ps-check" },
      el("input", { type: "checkbox", name: "orientation", value: o, id: `ex-or-${i}` }), ` ${o}`)));
    const tf = $("ex-techniques");
    tf.replaceChildren(el("legend", null, "Techniques"));
    techniques().forEach((t, i) => {
      const sw = el("span", { class: "ps-swatch", "aria-hidden": "true" });
      sw.style.backgroundColor = page.safeColour(t.colour);
      tf.append(el("label", { class: "ps-check" },
        el("input", { type: "checkbox", name: "technique", value: t.name, id: `ex-t-${i}` }), sw, ` ${t.label}`));
    });
    const metric = $("ex-metric");
    metric.replaceChildren();
    metric.append(el("option", { value: "spans_per_1k_words" }, "Spans per 1,000 words"),
      el("option", { value: "mean_score" }, "Mean article score"),
      el("option", { value: "share" }, "Share of articles with a technique (any)"));
    for (const t of techniques()) metric.append(el("option", { value: `share:${t.name}` }, `Share of articles with: ${t.label}`));
    for (const id of ["ex-a", "ex-b"]) {
      const s = $(id);
      s.replaceChildren();
      for (const o of st.outlets) s.append(el("option", { value: o.name }, o.name));
    }
  }

  // -------------------------------------------------------------------------------------------------
  // URL <-> controls
  // -------------------------------------------------------------------------------------------------

  function fullDate(v, end) {
    if (/^\d{4}$/.test(v)) return end ? `${v}-12-31` : `${v}-01-01`;
    if (/^\d{4}-\d{2}$/.test(v)) {
      if (!end) return `${v}-01`;
      const [y, m] = v.split("-").map(Number);
      return `${v}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, "0")}`;
    }
    return v;
  }

  function toControls(q) {
    const f = $("ex-filters");
    f.elements.from.value = fullDate(q.get("from") || "", false);
    f.elements.to.value = fullDate(q.get("to") || "", true);
    f.elements.search.value = q.get("search") || "";
    f.elements.min_confidence.value = q.get("min_confidence") || "";
    const outs = new Set(q.getAll("outlet"));
    for (const o of $("ex-outlets").options) o.selected = outs.has(o.value);
    const ors = new Set(q.getAll("orientation").map((x) => x.toLowerCase()));
    for (const c of $("ex-orientations").querySelectorAll("input")) c.checked = ors.has(c.value.toLowerCase());
    const techs = new Set(q.getAll("technique"));
    for (const c of $("ex-techniques").querySelectorAll("input")) c.checked = techs.has(c.value);
    $("ex-period").value = q.get("period") || "month";
    $("ex-tmetric").value = q.get("tmetric") === "per1k" ? "per1k" : "spans";
    $("ex-metric").value = q.get("metric") || "spans_per_1k_words";
    if (!$("ex-metric").value) $("ex-metric").value = "spans_per_1k_words";
    const [a, b] = defaultPair(q);
    $("ex-a").value = a;
    $("ex-b").value = b;
  }

  function defaultPair(q) {
    const byCount = [...st.outlets].sort((x, y) => y.articles - x.articles).map((o) => o.name);
    const a = q.get("a") || byCount[0] || "";
    const b = q.get("b") || byCount.find((n) => n !== a) || a;
    return [a, b];
  }

  /* The page URL for the current controls (filters, charts), keeping the sort; a filter change starts at page 1. */
  function urlFromControls(keepPage) {
    const cur = new URLSearchParams(location.search);
    const f = $("ex-filters");
    const q = new URLSearchParams({ view: "explore" });
    const set = (k, v) => { if (v) q.set(k, v); };
    set("from", f.elements.from.value);
    set("to", f.elements.to.value);
    set("search", f.elements.search.value.trim());
    set("min_confidence", f.elements.min_confidence.value);
    for (const o of $("ex-outlets").selectedOptions) q.append("outlet", o.value);
    for (const c of $("ex-orientations").querySelectorAll("input:checked")) q.append("orientation", c.value);
    for (const c of $("ex-techniques").querySelectorAll("input:checked")) q.append("technique", c.value);
    if ($("ex-period").value !== "month") q.set("period", $("ex-period").value);
    if ($("ex-tmetric").value !== "spans") q.set("tmetric", $("ex-tmetric").value);
    if ($("ex-metric").value !== "spans_per_1k_words") q.set("metric", $("ex-metric").value);
    set("a", $("ex-a").value);
    set("b", $("ex-b").value);
    for (const v of cur.getAll("sort")) q.append("sort", v);
    if (keepPage && cur.get("page")) q.set("page", cur.get("page"));
    return q;
  }

  function go(q) {
    const url = `${location.pathname}?${q.toString()}`;
    if (url === location.pathname + location.search) return;
    history.pushState(null, "", url);
    enter(new URLSearchParams(location.search));
  }

  // -------------------------------------------------------------------------------------------------
  // Loading and drawing
  // -------------------------------------------------------------------------------------------------

  function showError(id, message) {
    $(id).textContent = message || "";
    $(id).hidden = !message;
  }

  async function enter(q) {
    if (!st.built) return;
    const seq = ++st.seq;
    const id = q.get("article");
    $("ex-dashboard").hidden = Boolean(id);
    $("ex-article").hidden = !id;
    if (id) return showArticle(id, q, seq);
    toControls(q);
    showError("ex-error", "");
    document.body.dataset.explore = "loading";
    const f = filterParams(q);
    try {
      await Promise.all([drawTime(f, q, seq), drawOutlets(f, q, seq), drawPair(f, q, seq), drawList(f, q, seq)]);
    } catch (e) {
      if (seq === st.seq) showError("ex-error", `Could not load the corpus view: ${e.message || e}`);
    }
    if (seq === st.seq) document.body.dataset.explore = "ready";
  }

  /* The periods from the first to the last, empty ones included, so that time runs evenly along the axis
   * (at most 3,000; a longer run keeps only the periods with data). Names as the API gives them. */
  function allPeriods(have, period) {
    if (have.length < 2) return have;
    const out = [];
    const iso = (d) => d.toISOString().slice(0, 10);
    const last = have[have.length - 1];
    if (period === "year") {
      for (let y = Number(have[0]); y <= Number(last) && out.length <= 3000; y++) out.push(String(y));
    } else if (period === "month") {
      let [y, m] = have[0].split("-").map(Number);
      for (;;) {
        const p = `${y}-${String(m).padStart(2, "0")}`;
        out.push(p);
        if (p >= last || out.length > 3000) break;
        m += 1;
        if (m > 12) { m = 1; y += 1; }
      }
    } else {
      const stepDays = period === "week" ? 7 : 1;
      for (let d = new Date(`${have[0]}T00:00:00Z`); iso(d) <= last && out.length <= 3000;
        d = new Date(d.getTime() + stepDays * 86400000)) out.push(iso(d));
    }
    return out.length > 3000 || out[out.length - 1] !== last ? have : out;
  }

  async function drawTime(f, q, seq) {
    const period = $("ex-period").value;
    const data = await getJson("/stats", withParams(f, [["by", [period, "technique"]]]));
    if (seq !== st.seq) return;
    const periods = allPeriods([...new Set(data.rows.map((r) => r[period]))].filter((p) => p !== "(unknown)").sort(), period);
    const used = new Set(data.rows.filter((r) => r.spans > 0).map((r) => r.technique));
    const series = techniques().filter((t) => used.has(t.name));
    const per1k = $("ex-tmetric").value === "per1k";
    const cell = new Map(data.rows.map((r) => [`${r[period]}|${r.technique}`, per1k ? r.spans_per_1k_words : r.spans]));
    const undated = data.rows.filter((r) => r[period] === "(unknown)").reduce((a, r) => a + r.articles, 0);
    window.PSChart.figure($("ex-time"), {
      kind: "columns", caption: `${per1k ? "Spans per 1,000 words" : "Spans"}, per technique and ${period}` +
        (undated ? ` (articles without a date are left out)` : ""),
      xName: period, yName: per1k ? "spans per 1,000 words" : "spans", labelName: period,
      width: Math.max(320, $("ex-time").clientWidth - 140), format: per1k ? (v) => num(v, 1) : String,
      series: series.map((t) => ({ name: t.label, colour: t.colour })),
      rows: periods.map((p) => ({ label: p, values: series.map((t) => cell.get(`${p}|${t.name}`) || 0) })),
      empty: "No dated article matches these filters.",
    });
  }

  async function drawOutlets(f, q, seq) {
    const metric = $("ex-metric").value;
    const tech = metric.startsWith("share:") ? metric.slice(6) : null;
    const params = withParams(f, [["by", tech ? ["outlet", "technique"] : ["outlet"]]]);
    const data = await getJson("/stats", params);
    if (seq !== st.seq) return;
    let rows = data.rows.filter((r) => !tech || r.technique === tech);
    const count = new Map(rows.map((r) => [r.outlet, r.articles]));
    const biggest = [...count.entries()].sort((x, y) => y[1] - x[1]).slice(0, MAX_OUTLETS).map((x) => x[0]);
    const keep = new Set(biggest);
    const key = tech ? "share" : metric;
    rows = rows.filter((r) => keep.has(r.outlet)).sort((x, y) => (y[key] || 0) - (x[key] || 0));
    const names = { spans_per_1k_words: "spans per 1,000 words", mean_score: "mean article score",
      share: "share of articles" };
    const what = tech ? `share of articles with ${techInfo(tech).label}` : names[metric];
    const isShare = key === "share";
    window.PSChart.figure($("ex-outlet-chart"), {
      caption: `${what[0].toUpperCase()}${what.slice(1)} per outlet` +
        (count.size > MAX_OUTLETS ? ` (the ${MAX_OUTLETS} outlets with most articles of ${count.size})` : ""),
      labelName: "outlet", valueName: what, barWidth: BAR_WIDTH,
      series: [{ name: what, colour: tech ? techInfo(tech).colour : "#1f5fa8" }],
      rows: rows.map((r) => ({ label: `${r.outlet} (${r.articles.toLocaleString("en")} articles)`,
        values: [r[key] || 0] })),
      format: isShare ? pct : (v) => num(v, 2),
      empty: "No outlet matches these filters.",
    });
  }

  async function drawPair(f, q, seq) {
    const a = $("ex-a").value;
    const b = $("ex-b").value;
    if (!a || !b) {
      $("ex-pair").replaceChildren(el("p", { class: "ps-empty" }, "No outlets in the store."));
      return;
    }
    // the two outlets are chosen here: the outlet and orientation filters do not apply, the others do
    const params = withParams(f, [["by", ["outlet", "technique"]], ["outlet", [...new Set([a, b])]], ["orientation", []]]);
    const data = await getJson("/stats", params);
    if (seq !== st.seq) return;
    const total = new Map();
    const cell = new Map();
    for (const r of data.rows) {
      total.set(r.outlet, (total.get(r.outlet) || 0) + r.spans);
      cell.set(`${r.outlet}|${r.technique}`, r.spans);
    }
    const share = (o, t) => (total.get(o) ? (cell.get(`${o}|${t}`) || 0) / total.get(o) : 0);
    const used = techniques().filter((t) => share(a, t.name) > 0 || share(b, t.name) > 0);
    const none = [a, b].filter((o) => !total.get(o));
    window.PSChart.figure($("ex-pair"), {
      caption: `Share of each outlet's spans per technique: ${a} (solid) and ${b} (light, outlined)` +
        (none.length ? `; no span of ${none.join(" or ")} under these filters` : ""),
      labelName: "technique", series: [{ name: a }, { name: b, faded: true }], barWidth: BAR_WIDTH,
      rows: used.map((t) => ({ label: t.label, colour: t.colour, values: [share(a, t.name), share(b, t.name)] })),
      format: pct, empty: "Neither outlet has a span under these filters.",
    });
  }

  const SORTS = [["score", "Score"], ["published", "Date"], ["outlet", "Outlet"]];

  async function drawList(f, q, seq) {
    const sort = q.get("sort") || "-published";
    const pageNo = Math.max(1, Number(q.get("page")) || 1);
    const params = withParams(f, [["sort", sort], ["offset", String((pageNo - 1) * PAGE_SIZE)], ["limit", String(PAGE_SIZE)]]);
    const data = await getJson("/articles", params);
    if (seq !== st.seq) return;
    const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
    $("ex-summary").textContent = `${data.total.toLocaleString("en")} of ${st.info.articles.toLocaleString("en")} ` +
      "articles match these filters.";
    const head = el("tr", null, el("th", { scope: "col" }, "Title"));
    for (const [key, label] of SORTS) {
      const active = sort.replace(/^-/, "") === key;
      const desc = sort.startsWith("-");
      const next = active ? (desc ? key : `-${key}`) : (key === "outlet" ? key : `-${key}`);
      const b = el("button", { type: "button", class: "ps-sort", "data-sort": next },
        label, el("span", { "aria-hidden": "true" }, active ? (desc ? " ▼" : " ▲") : ""));
      b.addEventListener("click", () => {
        const u = new URLSearchParams(location.search);
        u.set("sort", next);
        u.delete("page");
        go(u);
      });
      const th = el("th", { scope: "col" }, b);
      if (active) th.setAttribute("aria-sort", desc ? "descending" : "ascending");
      head.append(th);
    }
    head.append(el("th", { scope: "col" }, "Spans"));
    const body = el("tbody");
    // the article view starts with the list's span filters: its slider at min_confidence, other techniques off
    // (as the server understood them: `technique=loaded` is Loaded_Language)
    const base = new URLSearchParams(location.search);
    const understood = data.filters || {};
    if (typeof understood.min_confidence === "number") base.set("min", String(understood.min_confidence));
    const chosen = new Set(understood.techniques || []);
    if (chosen.size && !base.has("hide")) {
      for (const t of techniques()) if (!chosen.has(t.name)) base.append("hide", t.name);
    }
    for (const r of data.rows) {
      const link = new URLSearchParams(base);
      link.set("article", String(r.id));
      const a = el("a", { href: `?${link.toString()}`, class: "ps-ex-open" }, r.title || r.ext_id || `article ${r.id}`);
      a.addEventListener("click", (e) => {
        e.preventDefault();
        go(link);
      });
      body.append(el("tr", null, el("td", null, a), el("td", { class: "ps-num" }, num(r.score)),
        el("td", { class: "ps-nowrap" }, r.published || "–"), el("td", null, r.outlet || "(unknown)"),
        el("td", { class: "ps-num" }, String(r.n_spans))));
    }
    const table = el("table", { class: "ps-ex-table" },
      el("caption", null, `Articles, sorted by ${sort.replace(/^-/, "")}${sort.startsWith("-") ? " (highest first)" : ""}`),
      el("thead", null, head), body);
    $("ex-list").replaceChildren(data.rows.length ? table : el("p", { class: "ps-empty" }, "No article matches these filters."));
    $("ex-page").textContent = `Page ${pageNo} of ${pages.toLocaleString("en")}`;
    $("ex-prev").disabled = pageNo <= 1;
    $("ex-next").disabled = pageNo >= pages;
  }

  function turnPage(delta) {
    const u = new URLSearchParams(location.search);
    const p = Math.max(1, (Number(u.get("page")) || 1) + delta);
    if (p === 1) u.delete("page");
    else u.set("page", String(p));
    go(u);
  }

  async function showArticle(id, q, seq) {
    showError("ex-art-error", "");
    document.body.dataset.explore = "loading";
    const back = new URLSearchParams(q);
    for (const k of ["article", "min", "hide", "reuse"]) back.delete(k);
    $("ex-back").setAttribute("href", `?${back.toString()}`);
    $("ex-reuse-body").replaceChildren(el("p", { class: "ps-empty" }, "Loading…"));
    $("ex-reuse-pair").replaceChildren();
    const reuse = getJson(`/articles/${encodeURIComponent(id)}/reuse`).catch((e) => ({ error: e }));
    let data;
    try {
      data = await getJson(`/articles/${encodeURIComponent(id)}`);
    } catch (e) {
      if (seq === st.seq) {
        showError("ex-art-error", `Could not load article ${id}: ${e.message || e}`);
        $("ex-art-title").textContent = "Article not found";
        $("ex-art-meta").replaceChildren();
        $("ex-reuse-body").replaceChildren();
        document.body.dataset.explore = "ready";
      }
      return;
    }
    if (seq !== st.seq) return;
    const art = data.analysis.article;
    $("ex-art-title").textContent = art.title || art.id;
    const meta = $("ex-art-meta");
    meta.replaceChildren();
    const row = (k, v) => meta.append(el("dt", null, k), el("dd", null, v));
    row("Outlet", `${data.outlet || "(unknown)"}${data.orientation ? ` (${data.orientation})` : ""}`);
    row("Published", data.published || art.published || "unknown");
    if (art.author) row("Author", art.author);
    row("Article score", typeof data.analysis.score === "number" ? num(data.analysis.score) : "–");
    row("Model", data.analysis.model || "–");
    if ((data.history || []).length) row("Older analyses kept", data.history.join(", "));
    if (art.url) {
      const safe = /^https?:\/\//i.test(art.url);
      row("Original", safe ? el("a", { href: art.url, rel: "noopener noreferrer nofollow" }, art.url) : art.url);
    }
    page.showAnalysis(data.analysis, $("ex-art-results"));
    const found = await reuse;
    if (seq !== st.seq) return;
    showReuse(Number(id), found, q.get("reuse"));
    if (st.focusTitle) $("ex-art-title").focus();
    st.focusTitle = false;
    document.body.dataset.explore = "ready";
  }

  // -------------------------------------------------------------------------------------------------
  // Text reuse of the shown article (saved by `propscope trace --db`)
  // -------------------------------------------------------------------------------------------------

  const KINDS = { verbatim: "verbatim copy", reworded: "light rewording", quotation: "shared quotation only" };
  const ROLES = { sources: "Source (earlier)", copies: "Copy (later)", unknown_direction: "Shares text" };

  /* A link to another article's view that comes back with this pair chosen; Back returns here. */
  function articleLink(otherId, thisId, text) {
    const u = new URLSearchParams(location.search);
    u.set("article", String(otherId));
    u.set("reuse", String(thisId));
    const a = el("a", { href: `?${u.toString()}`, class: "ps-reuse-open" }, text);
    a.addEventListener("click", (e) => {
      e.preventDefault();
      st.focusTitle = true;
      go(u);
    });
    return a;
  }

  const titleOf = (item) => item.title || `article ${item.id}`;

  // The table's caption: how many articles share text, per group; when a group holds more links than one
  // answer carries (the route pages them), how many of them are listed.
  function reuseCaption(data, shown) {
    const t = data.totals || {};
    const groups = [["sources", "sources"], ["copies", "copies"], ["unknown_direction", "direction unknown"]];
    const all = groups.reduce((n, [k]) => n + (t[k] ?? data[k].length), 0);
    const parts = groups.map(([k, label]) => (t[k] ?? data[k].length) > data[k].length
      ? `${label}: ${data[k].length} of ${t[k]} listed` : `${label}: ${data[k].length}`);
    return `${all} article${all === 1 ? "" : "s"} sharing text with this one (${parts.join(", ")})` +
      (all > shown ? `; the first ${data.limit} of each kind are listed` : "");
  }

  function showReuse(id, data, chosen) {
    const body = $("ex-reuse-body");
    page.setReuse([]);
    if (data.error) {
      body.replaceChildren(el("p", { class: "ps-error", role: "alert" },
        `Could not load the text reuse of article ${id}: ${data.error.message || data.error}`));
      return;
    }
    if (!data.traced) {
      body.replaceChildren(el("p", { class: "ps-hint", id: "ex-reuse-none" }, "Not traced yet: run ",
        el("code", null, `propscope trace --db ${st.info.store}`), " to find the articles that share text with this one."));
      return;
    }
    const items = [];
    for (const key of ["sources", "copies", "unknown_direction"]) for (const it of data[key]) items.push({ ...it, role: key });
    if (!items.length) {
      body.replaceChildren(el("p", { class: "ps-empty", id: "ex-reuse-none" },
        `No reuse found: no other article in the store shares text with this one (traced ${data.traced_at}).`));
      return;
    }
    const intro = [];
    const fam = data.family;
    if (fam) {
      const line = el("p", { id: "ex-reuse-family" }, `Story family of ${fam.size} articles (${fam.links} reuse links): `);
      if (fam.origin === null) line.append("no single earliest article, so no probable origin.");
      else if (fam.origin === id) line.append("this article is its probable origin (the earliest).");
      else {
        line.append("probable origin ", articleLink(fam.origin, id, fam.origin_title || `article ${fam.origin}`),
          fam.origin_published ? ` (${fam.origin_published}).` : ".");
      }
      intro.push(line);
    }
    const head = el("tr", null, ...["Article", "Relation", "Kind of reuse", "Share of the text (this / other)"]
      .map((h) => el("th", { scope: "col" }, h)));
    const rows = el("tbody");
    const buttons = new Map();
    for (const it of items) {
      const b = el("button", { type: "button", class: "ps-secondary ps-small", "aria-pressed": "false",
        "aria-controls": "ex-reuse-pair", "data-reuse": String(it.id) },
      `Show ${it.passages.length} passage${it.passages.length === 1 ? "" : "s"}`);
      b.addEventListener("click", () => choose(it.id, true));
      buttons.set(it.id, b);
      const where = [it.outlet || "(unknown outlet)", it.published || "undated"].join(", ");
      rows.append(el("tr", { "data-reuse": String(it.id) },
        el("td", null, articleLink(it.id, id, titleOf(it)), el("span", { class: "ps-reuse-where" }, ` ${where}`),
          el("br"), b),
        el("td", null, ROLES[it.role], el("br"), el("span", { class: "ps-reuse-where" },
          it.direction === "dates" ? "by publication dates" : "direction unknown (a date missing or equal)")),
        el("td", null, KINDS[it.kind] || it.kind),
        el("td", { class: "ps-num" }, `${pct(it.share)} / ${pct(it.other_share)}`)));
    }
    const table = el("table", { class: "ps-ex-table", id: "ex-reuse-list" },
      el("caption", null, reuseCaption(data, items.length)),
      el("thead", null, head), rows);
    body.replaceChildren(...intro, el("div", { class: "ps-scroll" }, table));

    function choose(other, byUser) {
      const it = items.find((x) => x.id === other) || items[0];
      for (const [k, b] of buttons) {
        b.setAttribute("aria-pressed", String(k === it.id));
        b.closest("tr").classList.toggle("ps-chosen", k === it.id);
      }
      showPair(id, it);
      if (byUser) {
        const u = new URLSearchParams(location.search);
        u.set("reuse", String(it.id));
        history.replaceState(null, "", `${location.pathname}?${u.toString()}`);
      }
    }
    choose(Number(chosen), false);
  }

  /* The chosen pair's passages side by side (this article | the other), marked in the article's text. */
  function showPair(id, it) {
    const other = it.role === "sources" ? "Source" : it.role === "copies" ? "Copy" : "Other article";
    const list = el("ol", { class: "ps-pairs", "aria-labelledby": "ex-reuse-pair-heading" });
    it.passages.forEach((p, i) => {
      const side = (who, a, b, text) => el("figure", null,
        el("figcaption", null, `${who}, characters ${a}–${b}`), el("blockquote", { class: "ps-passage" }, text));
      list.append(el("li", { class: "ps-pair" },
        el("p", { class: "ps-pair-head" }, el("strong", null, `Passage ${i + 1}`),
          ` · similarity ${pct(p.similarity)}, ${KINDS[p.kind] || p.kind}`),
        el("div", { class: "ps-pair-sides" }, side("This article", p.start, p.end, p.text),
          side(other, p.other_start, p.other_end, p.other_text))));
    });
    $("ex-reuse-pair").replaceChildren(
      el("h3", { id: "ex-reuse-pair-heading" }, "Passages shared with ", articleLink(it.id, id, titleOf(it))),
      el("p", { class: "ps-hint" }, "This article's passage on the left, the other's on the right. In the article " +
        "above they have a bar on their left, a dotted underline and a label “reused N” (N: the passage's number)."),
      list);
    page.setReuse(it.passages.map((p, i) => ({ start: p.start, end: p.end, label: i + 1 })));
  }

  // -------------------------------------------------------------------------------------------------

  function wire() {
    $("ex-filters").addEventListener("submit", (e) => {
      e.preventDefault();
      go(urlFromControls(false));
    });
    $("ex-filters").addEventListener("change", (e) => {
      if (e.target.name !== "search") go(urlFromControls(false));
    });
    $("ex-reset").addEventListener("click", () => go(new URLSearchParams({ view: "explore" })));
    for (const id of ["ex-period", "ex-tmetric", "ex-metric", "ex-a", "ex-b"]) {
      $(id).addEventListener("change", () => go(urlFromControls(true)));
    }
    $("ex-prev").addEventListener("click", () => turnPage(-1));
    $("ex-next").addEventListener("click", () => turnPage(1));
    $("ex-back").addEventListener("click", (e) => {
      e.preventDefault();
      go(new URLSearchParams(e.currentTarget.getAttribute("href").slice(1)));
    });
  }

  async function start() {
    let info;
    try {
      const r = await fetch(API, { headers: { Accept: "application/json" } });
      info = await page.readJson(r);
      if (!r.ok) throw new Error(info.detail || r.statusText);
      if (!info.store) {
        const hint = el("p", { id: "store-hint", class: "ps-model" },
          "To explore a whole corpus, make a store: propscope ingest FILES... then propscope serve --db propscope.db");
        $("model-info").after(hint);
        document.body.dataset.explore = "off";
        return;
      }
    } catch (e) {
      document.body.dataset.explore = "off";
      return;
    }
    st.info = info;
    const [outlets] = await Promise.all([getJson("/outlets"), waitForTechniques()]);
    st.outlets = outlets.filter((o) => o.articles > 0);  // outlets imported from a CSV may have none yet
    const root = build();
    $("main").append(root);
    fillChoices();
    $("ex-store").textContent = `Store ${info.store}: ${info.articles.toLocaleString("en")} articles, ` +
      `${st.outlets.length.toLocaleString("en")} outlets. Every chart and the list follow these filters.`;
    wire();
    st.built = true;
    page.registerView("explore", { label: "Explore the corpus", element: root, enter });
    if (new URLSearchParams(location.search).get("view") !== "explore") document.body.dataset.explore = "ready";
  }

  /* The technique table comes from the analyser's start-up; wait for it (a few ms). */
  async function waitForTechniques() {
    for (let i = 0; i < 200 && !techniques().length; i++) await new Promise((r) => setTimeout(r, 25));
  }

  start();
})();
