// Renders the API reference from openapi.json: operations by tag, their security, parameters,
// request bodies and responses, then every component schema. Everything from the document is
// put on the page as text (textContent), never as HTML.
"use strict";

const METHODS = ["get", "head", "post", "put", "delete", "options", "patch"];

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// prose renders a description: `code` spans become <code>, the rest stays text.
function prose(text) {
  const p = el("p");
  String(text || "").split("`").forEach((part, i) => p.append(i % 2 ? el("code", {}, part) : part));
  return p;
}

function refName(ref) { return ref.split("/").pop(); }

// typeOf is a one-line summary of a schema; component references become links.
function typeOf(s) {
  if (!s) return "";
  if (s.$ref) return el("a", { href: "#schema-" + refName(s.$ref) }, refName(s.$ref));
  const span = el("span");
  const alts = s.oneOf || s.anyOf;
  if (alts) {
    alts.forEach((a, i) => { if (i) span.append(" | "); span.append(typeOf(a)); });
    return span;
  }
  let t = Array.isArray(s.type) ? s.type.join(" | ") : (s.type || "any");
  if (s.type === "array" || (Array.isArray(s.type) && s.type.includes("array"))) {
    span.append("array of ", typeOf(s.items));
    return span;
  }
  if (s.format) t += " (" + s.format + ")";
  if (s.enum) t += ": " + s.enum.map(v => JSON.stringify(v)).join(", ");
  if (s.pattern) t += " /" + s.pattern + "/";
  if (s.minimum !== undefined || s.maximum !== undefined) t += " [" + (s.minimum ?? "") + "…" + (s.maximum ?? "") + "]";
  if (s.default !== undefined) t += ", default " + JSON.stringify(s.default);
  span.append(t);
  return span;
}

// schemaTable lists an object schema's properties; other schemas get their one-line type.
function schemaTable(s) {
  if (!s || s.$ref || !s.properties) return el("p", { class: "schema" }, typeOf(s));
  const req = new Set(s.required || []);
  const t = el("table", { class: "schema" }, el("tr", {}, el("th", {}, "field"), el("th", {}, "type"), el("th", {}, "")));
  for (const [name, p] of Object.entries(s.properties)) {
    t.append(el("tr", {}, el("td", {}, el("code", {}, name), req.has(name) ? " *" : ""), el("td", {}, typeOf(p)), el("td", {}, prose(p.description))));
  }
  return t;
}

function security(doc, op) {
  const reqs = op.security || doc.security || [];
  if (reqs.length === 0 || reqs.every(r => Object.keys(r).length === 0)) return "public";
  return reqs.map(r => Object.keys(r).join(" + ")).join(" or ");
}

function operation(doc, path, method, op, shared) {
  const id = op.operationId || method + path;
  const sec = el("section", { class: "op", id: "op-" + id, "data-operation": id },
    el("h3", {}, el("span", { class: "method " + method }, method.toUpperCase()), el("span", { class: "path" }, path),
      el("span", { class: "auth" }, security(doc, op))));
  if (op.summary) sec.append(el("strong", {}, op.summary));
  if (op.description) sec.append(prose(op.description));
  const params = [...shared, ...(op.parameters || [])].map(p => p.$ref ? doc.components.parameters[refName(p.$ref)] : p);
  if (params.length) {
    const t = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "")));
    for (const p of params) {
      t.append(el("tr", {}, el("td", {}, el("code", {}, p.name), p.required ? " *" : ""), el("td", {}, p.in), el("td", {}, typeOf(p.schema)), el("td", {}, prose(p.description))));
    }
    sec.append(t);
  }
  if (op.requestBody) {
    sec.append(el("h4", {}, "Request body"));
    for (const [type, media] of Object.entries(op.requestBody.content || {})) sec.append(el("p", {}, el("code", {}, type)), schemaTable(media.schema));
  }
  sec.append(el("h4", {}, "Responses"));
  const t = el("table", {}, el("tr", {}, el("th", {}, "status"), el("th", {}, ""), el("th", {}, "body")));
  for (const [status, r0] of Object.entries(op.responses || {})) {
    const r = r0.$ref ? doc.components.responses[refName(r0.$ref)] : r0;
    const body = el("td");
    for (const [type, media] of Object.entries(r.content || {})) body.append(el("code", {}, type), " ", typeOf(media.schema));
    t.append(el("tr", {}, el("td", { class: "status" }, status), el("td", {}, prose(r.description)), body));
  }
  sec.append(t);
  return sec;
}

function render(doc) {
  document.title = doc.info.title + " — reference";
  document.getElementById("title").textContent = doc.info.title;
  const summary = document.getElementById("summary");
  summary.replaceWith(prose(doc.info.description));
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(doc, path, method, op, item.parameters || []));
    }
  }
  const toc = el("ul");
  const main = document.getElementById("operations");
  for (const [tag, ops] of byTag) {
    main.append(el("h2", { id: "tag-" + tag }, tag), ...ops);
    for (const op of ops) toc.append(el("li", {}, el("a", { href: "#" + op.id }, op.querySelector("h3 .method").textContent + " " + op.querySelector("h3 .path").textContent)));
  }
  document.getElementById("toc").append(toc);
  const schemas = document.getElementById("schemas");
  schemas.append(el("h2", {}, "Schemas"));
  for (const [name, s] of Object.entries((doc.components && doc.components.schemas) || {})) {
    schemas.append(el("h3", { id: "schema-" + name }, name), prose(s.description), schemaTable(s));
  }
  document.body.dataset.rendered = "true";
}

fetch("openapi.json")
  .then(r => { if (!r.ok) throw new Error("openapi.json: HTTP " + r.status); return r.json(); })
  .then(render)
  .catch(err => { document.getElementById("operations").append(el("p", { role: "alert" }, String(err))); document.body.dataset.rendered = "error"; });
