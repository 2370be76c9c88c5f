type Json = Record<string, unknown>;

const html = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A JSON Schema in a few readable lines: the type, its fields and their rules. */
function describe(schema: unknown, depth = 0): string {
  const s = (schema ?? {}) as Json;
  if (s.$ref) {
    const name = String(s.$ref).split("/").pop();
    return `<a href="#schema-${html(name)}">${html(name)}</a>`;
  }
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) {
    const options = (s.anyOf ?? s.oneOf) as unknown[];
    return `one of:<ul>${options.map((o) => `<li>${describe(o, depth + 1)}</li>`).join("")}</ul>`;
  }
  if (s.type === "array") return `array of ${describe(s.items, depth + 1)}`;
  if (s.type === "object" && s.properties && depth < 4) {
    const required = new Set((s.required as string[] | undefined) ?? []);
    const rows = Object.entries(s.properties as Record<string, Json>)
      .map(
        ([name, field]) =>
          `<tr><td><code>${html(name)}</code>${required.has(name) ? " <em>required</em>" : ""}</td><td>${describe(field, depth + 1)}</td></tr>`,
      )
      .join("");
    return `object<table>${rows}</table>`;
  }
  const rules = [
    "const",
    "enum",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "format",
    "pattern",
  ]
    .filter((k) => s[k] !== undefined)
    .map((k) => `${k}: <code>${html(JSON.stringify(s[k]))}</code>`);
  const type = html(s.type ?? (s.const !== undefined ? "const" : "any"));
  return `${type}${rules.length ? ` (${rules.join(", ")})` : ""}${s.description ? ` — ${html(s.description)}` : ""}`;
}

/**
 * The human reference of the REST routes, rendered from the OpenAPI document: one self-contained HTML page (no
 * script, no font or style from elsewhere), so it works offline and behind a firewall.
 */
export function referencePage(doc: Json): string {
  const info = doc.info as Json;
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const operations = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );
  const nav = operations
    .map((o) => `<li><a href="#${html(o.op.operationId)}"><b>${o.method}</b> ${html(o.path)}</a></li>`)
    .join("");
  const sections = operations
    .map(({ path, method, op }) => {
      const params = ((op.parameters as Json[]) ?? [])
        .map(
          (p) =>
            `<tr><td><code>${html(p.name)}</code> <small>${html(p.in)}</small>${p.required ? " <em>required</em>" : ""}</td><td>${describe(p.schema)}${p.description && !(p.schema as Json).description ? ` — ${html(p.description)}` : ""}</td></tr>`,
        )
        .join("");
      const body = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
      const responses = Object.entries(op.responses as Record<string, Json>)
        .map(([status, r]) => {
          const schema = (r.content as Record<string, Json> | undefined)?.["application/json"]?.schema;
          return `<tr><td>${html(status)}</td><td>${html(r.description)}</td><td>${describe(schema)}</td></tr>`;
        })
        .join("");
      const auth = (op.security as Json[]).some((s) => Object.keys(s).length === 0)
        ? "API key, or a browser's checkout token"
        : "API key (Authorization: Bearer)";
      return `<section id="${html(op.operationId)}"><h2><span class="m">${method}</span> <code>${html(path)}</code></h2>
<p><b>${html(op.summary)}.</b> ${html(op.description)}</p><p>Auth: ${auth}.</p>
${params ? `<h3>Parameters</h3><table>${params}</table>` : ""}
${body ? `<h3>Body (application/json)</h3>${describe(body["application/json"]?.schema)}` : ""}
<h3>Responses</h3><table><tr><th>status</th><th>codes</th><th>body</th></tr>${responses}</table></section>`;
    })
    .join("\n");
  const schemas = Object.entries((doc.components as Json).schemas as Record<string, Json>)
    .map(([name, s]) => `<section id="schema-${html(name)}"><h2>${html(name)}</h2>${describe(s)}</section>`)
    .join("\n");
  const codes = Object.entries(doc["x-error-codes"] as Record<string, Json>)
    .map(
      ([code, c]) =>
        `<tr><td><code>${html(code)}</code></td><td>${html(c.status)}</td><td>${c.retryable ? "yes" : "no"}</td><td>${html(c.en)}<br><span lang="zh-CN">${html(c["zh-CN"])}</span></td></tr>`,
    )
    .join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${html(info.title)} ${html(info.version)} — REST reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#222}
table{border-collapse:collapse;margin:.3rem 0;width:100%}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
code{background:#f4f4f4;padding:0 .2rem}td{overflow-wrap:anywhere}section{border-top:1px solid #ccc;margin-top:1.5rem}.m{color:#fff;background:#2a6;padding:0 .4rem;border-radius:3px}
ul{margin:.2rem 0}</style></head><body>
<h1>${html(info.title)} <small>${html(info.version)}</small></h1><p>${html(info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Errors are <code>{ code, message, retryable, requestId, issues? }</code>; send <code>Accept-Language: zh-CN</code> for messages in Chinese.</p>
<ul>${nav}<li><a href="#errors">Error codes</a></li></ul>
${sections}
<section id="errors"><h2>Error codes</h2><table><tr><th>code</th><th>status</th><th>retry?</th><th>meaning</th></tr>${codes}</table></section>
${schemas}
</body></html>`;
}
