/* Offline reference for the REST API, built from /openapi.json with DOM nodes (no HTML strings). */
"use strict";

(function () {
  function el(tag, cls, ...children) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    for (const c of children) node.append(c);
    return node;
  }

  function resolve(spec, schema) {
    let s = schema || {};
    while (s.$ref) s = s.$ref.split("/").slice(1).reduce((o, k) => o[k], spec);
    return s;
  }

  function typeOf(spec, s) {
    s = resolve(spec, s);
    if (s.anyOf) return s.anyOf.map((x) => typeOf(spec, x)).join(" | ");
    if (s.type === "array") return `array of ${typeOf(spec, s.items)}`;
    if (s.title && (s.type === "object" || s.properties)) return s.title;
    return s.type || s.title || "object";
  }

  function fieldsTable(spec, schema) {
    const s = resolve(spec, schema);
    if (!s.properties) return el("p", "ps-hint", typeOf(spec, schema));
    const table = el("table", "ps-api-table");
    table.append(el("tr", null, el("th", null, "field"), el("th", null, "type"), el("th", null, "description")));
    for (const [name, prop] of Object.entries(s.properties)) {
      const req = (s.required || []).includes(name) ? " (required)" : "";
      table.append(el("tr", null, el("td", null, el("code", null, name + req)), el("td", null, typeOf(spec, prop)),
        el("td", null, prop.description || resolve(spec, prop).description || "")));
    }
    return table;
  }

  /* Query and path parameters of an operation (the corpus routes take the CLI's filters). */
  function paramsTable(spec, params) {
    const table = el("table", "ps-api-table");
    table.append(el("tr", null, el("th", null, "parameter"), el("th", null, "in"), el("th", null, "type"),
      el("th", null, "description")));
    for (const p of params) {
      const req = p.required ? " (required)" : "";
      const s = resolve(spec, p.schema);
      const many = typeOf(spec, s).includes("array") ? " (repeatable)" : "";
      table.append(el("tr", null, el("td", null, el("code", null, p.name + req)), el("td", null, p.in),
        el("td", null, typeOf(spec, s) + many), el("td", null, p.description || s.description || "")));
    }
    return table;
  }

  function render(spec) {
    const root = document.getElementById("api-doc");
    root.replaceChildren();
    root.append(el("section", null, el("h2", null, `${spec.info.title} ${spec.info.version}`),
      el("p", null, spec.info.description || "")));
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const sec = el("section", "ps-api-op");
        sec.append(el("h2", null, el("span", "ps-api-method", method.toUpperCase()), " ", el("code", null, path)));
        if (op.summary) sec.append(el("p", null, op.summary));
        if ((op.parameters || []).length) sec.append(el("h3", null, "Parameters"), paramsTable(spec, op.parameters));
        const body = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
        if (body) {
          sec.append(el("h3", null, "Request body (JSON)"), fieldsTable(spec, body.schema));
          const examples = resolve(spec, body.schema).examples || [];
          if (examples.length) {
            const ex = JSON.stringify(examples[0].text ? { text: "Title\n\nThe article body..." } : examples[0]);
            sec.append(el("h3", null, "Example"),
              el("pre", "ps-api-pre", `curl -s -X POST ${location.origin}${path} \\\n` +
                `  -H 'content-type: application/json' -d '${ex}'`));
          }
        } else if (method === "get") {
          // an example query from the parameters' examples (e.g. ?by=technique&from=2019-01-01)
          const q = new URLSearchParams();
          for (const p of op.parameters || []) {
            const ex = (p.schema && p.schema.examples) || p.examples;
            if (p.in === "query" && Array.isArray(ex) && ex.length) q.append(p.name, ex[0]);
          }
          const query = q.toString() ? `'${location.origin}${path}?${q}'` : `${location.origin}${path}`;
          sec.append(el("pre", "ps-api-pre", `curl -s ${query}`));
        }
        sec.append(el("h3", null, "Responses"));
        const list = el("ul");
        for (const [code, r] of Object.entries(op.responses || {})) {
          const schema = r.content && r.content["application/json"] && r.content["application/json"].schema;
          list.append(el("li", null, el("strong", null, code), " ", r.description || "",
            schema ? ` — ${typeOf(spec, schema)}` : ""));
        }
        sec.append(list);
        root.append(sec);
      }
    }
    // The data types the API sends and takes, field by field (an Analysis, its Article, Span, Sentence...).
    const types = el("section", "ps-api-op");
    types.id = "types";
    types.append(el("h2", null, "Data types"),
      el("p", null, "Every analysis is an Analysis, the same JSON as `propscope analyze --format json`; " +
        "offsets index into article.text (Unicode code points, end exclusive)."));
    const skip = /^(HTTPValidationError|ValidationError)$/;
    const names = Object.keys((spec.components && spec.components.schemas) || {}).filter((n) => !skip.test(n));
    names.sort((a, b) => (a === "Analysis" ? -1 : b === "Analysis" ? 1 : a.localeCompare(b)));
    for (const name of names) {
      const schema = spec.components.schemas[name];
      const head = el("h3", null, el("code", null, name));
      head.id = `type-${name}`;
      types.append(head);
      if (schema.description) types.append(el("p", "ps-hint", schema.description));
      types.append(fieldsTable(spec, { $ref: `#/components/schemas/${name}` }));
    }
    root.append(types);
  }

  fetch("/openapi.json")
    .then((r) => r.json())
    .then(render)
    .catch((e) => {
      document.getElementById("api-doc").textContent = `Could not load /openapi.json: ${e}`;
    });
})();
