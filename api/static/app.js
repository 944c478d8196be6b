// IVUS Coder review page: code a note through /v1/code?include=spans and show why each line
// was proposed. Plain JavaScript, no build step. Note text is only ever inserted as text nodes.
// Offsets from the service count Unicode code points; they are mapped to UTF-16 indices here.
"use strict";

const STYLE_LABELS = {
  "ivus": "IVUS",
  "ivus-set-aside": "IVUS set aside",
  "vessel-examined": "vessel examined",
  "vessel": "vessel (other)",
  "extent": "extent",
  "finding": "finding",
  "pathology": "pathology",
  "procedure": "procedure",
  "modality": "non-IVUS modality",
};
// Later styles win where spans overlap (as in style.css).
const STYLE_ORDER = ["extent", "procedure", "pathology", "vessel", "vessel-examined", "finding",
  "modality", "ivus-set-aside", "ivus"];

const state = {
  rules: null,
  text: "",
  result: null,
  spans: [],
  u16: null,          // code point index -> UTF-16 index
  segments: [],       // rendered note segments: {start, end, el, styles}
  current: -1,        // index into state.spans
  hidden: new Set(),
  seq: 0,
  linkerChosen: false, // the user picked a linker (else the server's default is selected)
  previous: null,     // {policy, linker, codes} of the last result, to show what a switch changed
  batch: { notes: new Map(), results: new Map() },
};

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child == null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// --- talking to the service -------------------------------------------------------------------
class ProblemError extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

async function api(path, body) {
  const headers = { "Accept": "application/json" };
  const key = $("api-key").value.trim();
  if (key) headers["Authorization"] = `Bearer ${key}`;
  const init = { method: body === undefined ? "GET" : "POST", headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ProblemError({ title: "The service cannot be reached", detail: String(err) }, 0);
  }
  let data = null;
  try { data = await response.json(); } catch (err) { data = null; }
  if (!response.ok) {
    throw new ProblemError(data || { title: `HTTP ${response.status}` }, response.status);
  }
  return data;
}

function showError(err) {
  const box = $("error");
  box.replaceChildren();
  const p = err.problem || { title: "Error", detail: String(err) };
  box.append(el("strong", { text: p.title || "Error" }));
  if (p.detail) box.append(" ", p.detail);
  if (p.code) box.append(" ", el("code", { text: `(${p.code})` }));
  box.hidden = false;
  if (err.status === 401) $("api-key").focus();
}

function clearError() {
  $("error").hidden = true;
  $("error").replaceChildren();
}

function say(message) {
  $("status").textContent = message;
}

// --- rules: policies, linkers, documentation modes, version ---------------------------------
async function loadRules() {
  try {
    state.rules = await api("/v1/rules");
  } catch (err) {
    if (err.status === 401) {
      $("version").textContent = "Enter an API key to use the service.";
      say("An API key is needed: enter it in the API key field.");
    } else {
      showError(err);
    }
    return;
  }
  clearError();
  const rules = state.rules;
  $("version").textContent = `Ruleset ${rules.ruleset_version} (default linker ${rules.default_linker})`;
  const chosen = selectedPolicy() || rules.default_policy;
  const box = $("policies");
  box.replaceChildren();
  for (const [name, info] of Object.entries(rules.policies)) {
    const input = el("input", { type: "radio", name: "policy", value: name });
    input.checked = name === chosen;
    box.append(el("label", { title: info.description }, input, ` ${name} `, el("small", { class: "muted", text: `(${info.title})` })));
  }
  // Until the user picks one, the linker follows the server's default.
  const linker = state.linkerChosen ? selectedLinker() : rules.default_linker;
  const linkers = $("linkers");
  linkers.replaceChildren();
  for (const [name, info] of Object.entries(rules.linkers || {})) {
    const input = el("input", { type: "radio", name: "linker", value: name });
    input.checked = name === linker;
    const note = name === rules.default_linker ? `${info.description}; default` : info.description;
    linkers.append(el("label", { title: info.description }, input, ` ${name} `, el("small", { class: "muted", text: `(${note})` })));
  }
  const select = $("documentation");
  const mode = select.value || rules.settings.documentation;
  select.replaceChildren();
  for (const [name, description] of Object.entries(rules.documentation_modes)) {
    const option = el("option", { value: name, text: `${name}: ${description}` });
    option.selected = name === mode;
    select.append(option);
  }
}

function selectedPolicy() {
  const checked = document.querySelector('input[name="policy"]:checked');
  return checked ? checked.value : null;
}

function selectedLinker() {
  const checked = document.querySelector('input[name="linker"]:checked');
  return checked ? checked.value : null;
}

// --- coding -----------------------------------------------------------------------------------
async function codeNote(reason) {
  if (!state.rules) await loadRules();  // the policies and linkers the server offers
  const text = $("note-text").value;
  // Without the ruleset (no key yet), an unpicked linker is left to the server's default.
  const linker = state.linkerChosen || state.rules ? selectedLinker() : null;
  const request = {
    text,
    policy: selectedPolicy() || undefined,
    linker: linker || undefined,
    documentation: $("documentation").value || undefined,
  };
  const id = $("doc-id").value.trim();
  if (id) request.id = id;
  const seq = ++state.seq;
  const button = $("code-btn");
  button.disabled = true;
  $("results").setAttribute("aria-busy", "true");
  say("Coding…");
  try {
    const result = await api("/v1/code?include=spans", request);
    if (seq !== state.seq) return;  // a newer request was sent meanwhile
    clearError();
    const before = state.previous;
    state.text = text;
    const used = linker || (state.rules && state.rules.default_linker) || "the server's default";
    render(result, used);
    const summary = codesText(result.codes);
    say(`Coded: ${summary} (policy ${result.policy}, linker ${used}).`);
    describeChange(reason, before, { policy: result.policy, linker: used, codes: result.codes });
    state.previous = { policy: result.policy, linker: used, codes: result.codes };
    if (!state.rules) loadRules();
  } catch (err) {
    if (seq !== state.seq) return;
    say("");
    showError(err);
  } finally {
    if (seq === state.seq) {
      button.disabled = false;
      $("results").removeAttribute("aria-busy");
    }
  }
}

function codesText(codes) {
  return `+37252 × ${codes["37252"]}, +37253 × ${codes["37253"]}`;
}

// What a policy or linker switch changed: `now` and `before` are {policy, linker, codes}.
function describeChange(reason, before, now) {
  const change = $("change");
  change.textContent = "";
  if ((reason !== "policy" && reason !== "linker") || !before) return;
  const what = reason === "policy" ? "Policy" : "Linker";
  const switched = `${what} ${before[reason]} → ${now[reason]}`;
  const same = before.codes["37252"] === now.codes["37252"] && before.codes["37253"] === now.codes["37253"];
  change.textContent = same
    ? `${switched}: the codes do not change.`
    : `${switched}: ${codesText(before.codes)} became ${codesText(now.codes)}.`;
}

// --- rendering --------------------------------------------------------------------------------
function utf16Index(text) {
  const index = [0];
  let position = 0;
  for (const ch of text) {
    position += ch.length;
    index.push(position);
  }
  return index;
}

function slice(start, end) {
  const u16 = state.u16;
  const a = u16[Math.min(start, u16.length - 1)];
  const b = u16[Math.min(end, u16.length - 1)];
  return state.text.slice(a, b);
}

function render(result, linker) {
  state.result = result;
  state.spans = result.spans || [];
  state.u16 = utf16Index(state.text);
  state.current = -1;
  $("results").hidden = false;
  const summary = $("summary");
  summary.replaceChildren(
    el("strong", { text: codesText(result.codes) }),
    `  ·  policy ${result.policy}  ·  linker ${linker}  ·  ${result.document_id ? `document ${result.document_id}  ·  ` : ""}ruleset ${result.ruleset_version}`,
  );
  renderLegend();
  renderNote();
  renderLines(result);
  renderVessels(result);
  renderExcluded(result);
  renderSuppressed(result);
  renderFlags(result);
  $("current-span").textContent = "";
}

function renderLegend() {
  const counts = {};
  for (const span of state.spans) counts[span.style] = (counts[span.style] || 0) + 1;
  const legend = $("legend");
  legend.replaceChildren();
  for (const style of Object.keys(STYLE_LABELS)) {
    if (!counts[style]) continue;
    const box = el("input", { type: "checkbox", "data-style": style });
    box.checked = !state.hidden.has(style);
    box.addEventListener("change", () => {
      if (box.checked) state.hidden.delete(style); else state.hidden.add(style);
      applyStyles();
    });
    legend.append(el("label", {}, box, el("span", { class: `chip t-${style}`, text: STYLE_LABELS[style] }), ` ${counts[style]}`));
  }
}

function renderNote() {
  const length = state.u16.length - 1;
  const cuts = new Set([0, length]);
  const add = (s, e) => {
    if (Number.isInteger(s) && Number.isInteger(e) && e > s) {
      cuts.add(Math.max(0, Math.min(s, length)));
      cuts.add(Math.max(0, Math.min(e, length)));
    }
  };
  for (const span of state.spans) add(span.start, span.end);
  for (const range of evidenceRanges(state.result)) add(range.start, range.end);
  const points = [...cuts].sort((a, b) => a - b);
  const view = $("note-view");
  view.replaceChildren();
  state.segments = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i];
    const end = points[i + 1];
    const covering = state.spans.filter((s) => s.start <= start && s.end >= end);
    const node = el("span", { class: "seg" }, slice(start, end));
    const segment = { start, end, el: node, styles: covering.map((s) => s.style) };
    if (covering.length) node.title = covering.map(describeSpan).join("\n");
    state.segments.push(segment);
    view.append(node);
  }
  applyStyles();
}

function applyStyles() {
  for (const segment of state.segments) {
    const styles = STYLE_ORDER.filter((s) => segment.styles.includes(s) && !state.hidden.has(s));
    const keep = [...segment.el.classList].filter((c) => c === "seg" || c === "current" || c === "target");
    segment.el.className = [...keep, ...styles.map((s) => `t-${s}`)].join(" ");
  }
}

function evidenceRanges(result) {
  const ranges = [];
  for (const vessel of result.vessels) for (const e of vessel.evidence) ranges.push(e);
  for (const unit of result.units) if (unit.merged_by) ranges.push(unit.merged_by);
  for (const item of [...result.excluded, ...result.suppressed, ...result.flags]) ranges.push(item);
  return ranges;
}

function vesselLabel(id) {
  const vessel = state.result && state.result.vessels.find((v) => v.id === id);
  return vessel ? vessel.label : id;
}

function describeSpan(span) {
  let text = `${STYLE_LABELS[span.style] || span.style}: “${span.text}”`;
  if (span.kind && span.type !== "vessel") text += ` [${span.kind}]`;
  if (span.assertion && span.assertion !== "affirmed") text += ` (${span.assertion})`;
  if (span.role && span.role !== "named") text += ` (${span.role})`;
  if (span.vessels && span.vessels.length) text += ` → ${span.vessels.map(vesselLabel).join(", ")}`;
  return text;
}

function jumpButton(label, start, end, description) {
  return el("button", {
    type: "button",
    class: "link",
    "data-start": start,
    "data-end": end,
    onclick: () => showRange(start, end, description || `“${label}”`),
  }, label);
}

function clearMarks() {
  for (const segment of state.segments) segment.el.classList.remove("current", "target");
}

function markRange(start, end, cls) {
  let first = null;
  for (const segment of state.segments) {
    if (segment.start >= start && segment.end <= end) {
      segment.el.classList.add(cls);
      first = first || segment.el;
    }
  }
  if (first) first.scrollIntoView({ block: "nearest" });
  return first;
}

function showRange(start, end, description) {
  clearMarks();
  state.current = state.spans.findIndex((s) => s.start === start && s.end === end);
  markRange(start, end, state.current >= 0 ? "current" : "target");
  $("current-span").textContent = `${description} (characters ${start}–${end})`;
  $("note-view").focus({ preventScroll: true });
}

function moveSpan(step) {
  if (!state.spans.length) return;
  const n = state.spans.length;
  state.current = state.current < 0 ? (step > 0 ? 0 : n - 1) : (state.current + step + n) % n;
  const span = state.spans[state.current];
  clearMarks();
  markRange(span.start, span.end, "current");
  $("current-span").textContent = `${state.current + 1} of ${n}: ${describeSpan(span)}`;
}

function fillTable(id, rows, width) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren();
  if (!rows.length) {
    body.append(el("tr", {}, el("td", { colspan: width, class: "empty", text: "None" })));
    return;
  }
  for (const cells of rows) body.append(el("tr", {}, ...cells.map((c) => el("td", {}, c))));
}

function firstEvidence(vesselId, role) {
  const vessel = state.result.vessels.find((v) => v.id === vesselId);
  if (!vessel) return null;
  return vessel.evidence.find((e) => e.role === role) || vessel.evidence[0] || null;
}

function renderLines(result) {
  fillTable("lines", result.units.map((unit, i) => {
    const vessels = el("span");
    unit.vessels.forEach((id, k) => {
      if (k) vessels.append(", ");
      const ev = firstEvidence(id, "vessel");
      vessels.append(ev ? jumpButton(vesselLabel(id), ev.start, ev.end, `${vesselLabel(id)}: “${ev.text}”`) : vesselLabel(id));
    });
    const merged = unit.merged_by ? jumpButton(unit.merged_by.text, unit.merged_by.start, unit.merged_by.end, `One continuous lesion: “${unit.merged_by.text}”`) : "";
    return [String(i + 1), `+${unit.code}`, unit.group, vessels, merged];
  }), 5);
}

function renderVessels(result) {
  fillTable("vessels", result.vessels.map((vessel) => {
    const list = el("ul");
    for (const ev of vessel.evidence) {
      list.append(el("li", {}, `${ev.role}: `, jumpButton(ev.text, ev.start, ev.end, `${ev.role} for ${vessel.label}: “${ev.text}”`)));
    }
    return [el("span", {}, vessel.label, el("br"), el("small", { class: "muted", text: vessel.id })), vessel.group, list];
  }), 3);
}

function renderExcluded(result) {
  fillTable("excluded", result.excluded.map((item) => [
    jumpButton(item.text, item.start, item.end, `Set aside (${item.reason}): “${item.text}”`),
    item.reason, item.detail || "", item.see_code || "",
  ]), 4);
}

function renderSuppressed(result) {
  fillTable("suppressed", result.suppressed.map((item) => [
    `${item.service} (${item.cpt})`,
    jumpButton(item.text, item.start, item.end, `Includes IVUS: “${item.text}”`),
    item.reason,
  ]), 3);
}

function renderFlags(result) {
  fillTable("flags", result.flags.map((flag) => [
    el("code", { text: flag.code }),
    flag.message,
    flag.end > flag.start ? jumpButton(slice(flag.start, flag.end), flag.start, flag.end, `Flag ${flag.code}: “${slice(flag.start, flag.end)}”`) : "the whole note",
  ]), 3);
}

// --- opening notes ----------------------------------------------------------------------------
function parseCsv(text) {
  const rows = [];
  let row = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows.filter((r) => r.length > 1 || r[0] !== "");
}

function takeRecord(record, origin) {
  if (!record || typeof record !== "object") return;
  if (typeof record.text === "string") {
    state.batch.notes.set(String(record.id ?? origin), record.text);
  } else if ("document_id" in record && (record.codes || record.error)) {
    state.batch.results.set(String(record.document_id), record);
  }
}

async function loadBatchFiles(files) {
  let skipped = 0;
  for (const file of files) {
    const text = await file.text();
    const name = file.name.toLowerCase();
    if (name.endsWith(".csv")) {
      const [header, ...rows] = parseCsv(text);
      if (!header) continue;
      const col = (n) => header.indexOf(n);
      rows.forEach((r, i) => {
        if (col("text") >= 0) takeRecord({ id: r[col("id")] ?? `${file.name}:${i + 1}`, text: r[col("text")] ?? "" }, `${file.name}:${i + 1}`);
        else if (col("document_id") >= 0 && col("37252") >= 0) {
          takeRecord({ document_id: r[col("document_id")], policy: r[col("policy")], ruleset_version: r[col("ruleset_version")],
            codes: { "37252": Number(r[col("37252")]), "37253": Number(r[col("37253")]) } });
        }
      });
    } else if (name.endsWith(".json")) {
      try {
        const data = JSON.parse(text);
        const items = Array.isArray(data) ? data : Array.isArray(data.results) ? data.results : Array.isArray(data.documents) ? data.documents : [data];
        items.forEach((item, i) => takeRecord(item, `${file.name}:${i + 1}`));
      } catch (err) { skipped++; }
    } else {
      text.split(/\r?\n/).forEach((line, i) => {
        if (!line.trim()) return;
        try { takeRecord(JSON.parse(line), `${file.name}:${i + 1}`); } catch (err) { skipped++; }
      });
    }
  }
  const ids = new Set([...state.batch.notes.keys(), ...state.batch.results.keys()]);
  const list = $("batch-ids");
  list.replaceChildren(...[...ids].slice(0, 5000).map((id) => el("option", { value: id })));
  $("batch-status").textContent = `${state.batch.notes.size} note(s) and ${state.batch.results.size} result(s) loaded` +
    (skipped ? `; ${skipped} unreadable line(s) skipped.` : ".");
}

async function openFromBatch() {
  const id = $("batch-id").value.trim();
  const text = state.batch.notes.get(id);
  const earlier = state.batch.results.get(id);
  $("batch-compare").textContent = "";
  if (text === undefined) {
    say(earlier ? `No note text for ${id} in the loaded files: load the batch input too.` : `No document ${id} in the loaded files.`);
    return;
  }
  $("doc-id").value = id;
  $("note-text").value = text;
  await codeNote("batch");
  if (earlier && state.result && state.result.document_id === id) {
    const compare = $("batch-compare");
    if (earlier.error) {
      compare.textContent = `The batch result for ${id} was an error: ${earlier.error.code} ${earlier.error.message}.`;
    } else {
      const same = earlier.codes["37252"] === state.result.codes["37252"] && earlier.codes["37253"] === state.result.codes["37253"];
      compare.textContent = `Batch result: ${codesText(earlier.codes)} (policy ${earlier.policy}, ruleset ${earlier.ruleset_version}); ` +
        (same ? "the same codes as now." : "different from now.");
    }
  }
}

// --- wiring -----------------------------------------------------------------------------------
function init() {
  const key = $("api-key");
  key.value = sessionStorage.getItem("ivus-coder-key") || "";
  key.addEventListener("change", () => {
    sessionStorage.setItem("ivus-coder-key", key.value.trim());
    loadRules();
  });
  $("note-form").addEventListener("submit", (event) => {
    event.preventDefault();
    codeNote("submit");
  });
  $("note-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      codeNote("submit");
    }
  });
  $("policies").addEventListener("change", (event) => {
    if (event.target.name === "policy" && state.result) codeNote("policy");
  });
  $("linkers").addEventListener("change", (event) => {
    if (event.target.name !== "linker") return;
    state.linkerChosen = true;
    if (state.result) codeNote("linker");
  });
  $("documentation").addEventListener("change", () => { if (state.result) codeNote("documentation"); });
  $("note-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    $("note-text").value = await file.text();
    if (!$("doc-id").value) $("doc-id").value = file.name.replace(/\.txt$/i, "");
    say(`Opened ${file.name}; press Code note.`);
  });
  $("batch-files").addEventListener("change", (event) => loadBatchFiles([...event.target.files]));
  $("batch-open").addEventListener("click", openFromBatch);
  $("batch-id").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); openFromBatch(); }
  });
  $("note-view").addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "n" || event.key === "j") { event.preventDefault(); moveSpan(1); }
    else if (event.key === "p" || event.key === "k") { event.preventDefault(); moveSpan(-1); }
    else if (event.key === "Escape") { clearMarks(); state.current = -1; $("current-span").textContent = ""; }
  });
  loadRules();
}

document.addEventListener("DOMContentLoaded", init);
