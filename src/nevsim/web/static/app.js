// nevsim dashboard: draws the plotly figures of a page and drives the editor and run buttons.
"use strict";

// A figure with a phone layout (data-json-narrow: the back-test's one panel a row) uses it in a
// window up to this wide, and switches when the window crosses that width.
const NARROW = window.matchMedia("(max-width: 600px)");

function drawPlot(div) {
  const narrow = NARROW.matches && div.dataset.jsonNarrow;
  const src = document.getElementById(narrow ? div.dataset.jsonNarrow : div.dataset.json);
  if (!src) return;
  const fig = JSON.parse(src.textContent);
  const layout = Object.assign({}, fig.layout || {}, { autosize: true });
  Plotly.react(div, fig.data || [], layout, { responsive: true, displaylogo: false })
    .then(() => { div.dataset.ready = "1"; div.dataset.layout = narrow ? "narrow" : "wide"; });
}

function renderPlots() {
  document.querySelectorAll("div.plot[data-json]").forEach(drawPlot);
  NARROW.addEventListener("change", () => {
    document.querySelectorAll("div.plot[data-json-narrow]").forEach(drawPlot);
  });
}

function errorText(d) {
  // "field: message Allowed: a, b." — one error of the API's detail list
  let text = (d.field ? d.field + ": " : "") + (d.msg || "");
  if (d.allowed && d.allowed.length) text += " Allowed: " + d.allowed.slice(0, 20).join(", ") + ".";
  return text;
}

function showErrors(detail, root) {
  root = root || document;
  root.querySelectorAll("[data-err-for]").forEach((e) => { e.textContent = ""; });
  root.querySelectorAll(".field.invalid").forEach((e) => e.classList.remove("invalid"));
  const general = document.getElementById("form-error");
  if (general) general.textContent = "";
  const items = Array.isArray(detail) ? detail : [{ field: "", msg: String(detail) }];
  const slots = Array.from(root.querySelectorAll("[data-err-for]"));
  items.forEach((d) => {
    let field = d.field || "";
    if (field.startsWith("correlations[")) field = "uncertainty." + field;  // the sampler's name for them
    if (field === "draws") field = "uncertainty.draws";  // the server's draw limit
    let text = (field ? field + ": " : "") + (d.msg || "");
    if (d.allowed && d.allowed.length) text += " Allowed: " + d.allowed.slice(0, 20).join(", ") + ".";
    // the longest field path that is a prefix of the error's path (year keys sit below a path)
    let best = null;
    slots.forEach((s) => {
      const p = s.dataset.errFor;
      const under = field === p || field.startsWith(p + ".") || field.startsWith(p + "[");
      if (under && (!best || p.length > best.dataset.errFor.length)) best = s;
    });
    if (best) {
      best.textContent = text;
      best.closest(".field").classList.add("invalid");
      const folded = best.closest("details");
      if (folded) folded.open = true;  // an error inside a folded table (coefficients): show it
    } else if (general) {
      general.textContent = text;
    } else {
      alert(text);
    }
  });
}

// Parameters of each distribution (from the server: nevsim.web.pages.DIST_PARAMS) and the optional ones.
let DIST_PARAMS = {};
let OPTIONAL_PARAMS = [];

function numberOrText(text) {
  // a number as a number; anything else as typed (the server's validation says what is wrong)
  const t = String(text).trim();
  if (t === "") return t;
  const n = Number(t);
  return Number.isNaN(n) ? t : n;
}

function listValue(text) {
  // "0.1, 0.2" or "[0.1, 0.2]" → [0.1, 0.2]
  const t = String(text).trim().replace(/^\[/, "").replace(/\]$/, "");
  return t === "" ? [] : t.split(/[,;\s]+/).filter((x) => x !== "").map(numberOrText);
}

function canonDist(obj) {
  // a distribution table with its keys in one order: dist, the kind's parameters, anything else
  if (!obj || typeof obj !== "object") return obj;
  const out = { dist: obj.dist };
  const known = DIST_PARAMS[obj.dist] || [];
  known.forEach((k) => { if (obj[k] !== undefined && obj[k] !== null) out[k] = obj[k]; });
  Object.keys(obj).forEach((k) => { if (!(k in out) && obj[k] !== null) out[k] = obj[k]; });
  return out;
}

function parseDistText(text) {
  // "normal(mean=7.8, sd=0.8, min=5.5)" or "choice(values=[1, 2], weights=[0.7, 0.3])" → table; null if unreadable
  const m = /^([A-Za-z_]+)\s*\(([\s\S]*)\)$/.exec(text.trim());
  if (!m) return null;
  const out = { dist: m[1] };
  const parts = [];
  let depth = 0, cur = "";
  for (const ch of m[2]) {
    if (ch === "[") depth += 1;
    if (ch === "]") depth -= 1;
    if (ch === "," && depth === 0) { parts.push(cur); cur = ""; } else cur += ch;
  }
  parts.push(cur);
  for (const part of parts) {
    if (!part.trim()) continue;
    const kv = part.split("=");
    if (kv.length !== 2 || !kv[0].trim()) return null;
    const v = kv[1].trim();
    out[kv[0].trim()] = v.startsWith("[") ? listValue(v) : numberOrText(v);
  }
  return canonDist(out);
}

function parsePath(text) {
  // "2025: 40, 2030: 60" → {"2025": 40, "2030": 60}; a point may be a distribution,
  // "2030: normal(mean=60, sd=5)"; unreadable text is sent as is (the server says why)
  const out = {};
  const t = text.trim();
  if (!t) return out;
  const sep = /[\s,;]*/y;
  const item = /(\d+)\s*[:=]\s*([A-Za-z_]+\s*\([^)]*\)|[^,;\n]*)/y;
  let pos = 0;
  for (;;) {
    sep.lastIndex = pos;
    sep.exec(t);
    pos = sep.lastIndex;
    if (pos >= t.length) break;
    item.lastIndex = pos;
    const m = item.exec(t);
    if (!m) return text;
    pos = item.lastIndex;
    const raw = m[2].trim();
    if (raw.includes("(")) {
      const d = parseDistText(raw);
      if (d === null) return text;
      out[m[1]] = d;
    } else {
      if (raw === "" || Number.isNaN(Number(raw))) return text;
      out[m[1]] = Number(raw);
    }
  }
  return out;
}

function distPanel(el) {
  return el.dataset.dist ? document.getElementById(el.dataset.dist) : null;
}

function panelDist(panel) {
  // the distribution table the panel shows; empty optional parameters are left out, an empty
  // required one too (the server then says it is missing)
  const kind = panel.querySelector("[data-p=dist]").value;
  const out = { dist: kind };
  (DIST_PARAMS[kind] || []).forEach((p) => {
    const v = panel.querySelector(`[data-p="${p}"]`).value;
    if (String(v).trim() === "") return;
    out[p] = (p === "values" || p === "weights") ? listValue(v) : numberOrText(v);
  });
  return out;
}

function showParams(panel) {
  const kind = panel.querySelector("[data-p=dist]").value;
  panel.querySelectorAll("label[data-param]").forEach((label) => {
    label.hidden = !(DIST_PARAMS[kind] || []).includes(label.dataset.param);
  });
}

function correlationGroups(list) {
  // groups of the scenario in one order: those of three or more names as written, then the pairs
  const rho = (g) => numberOrText(String(g.matrix[0][1]));
  return [...list.filter((g) => g.names.length !== 2),
          ...list.filter((g) => g.names.length === 2).map((g) => {
            const r = rho(g);
            return { names: g.names, matrix: [[1, r], [r, 1]] };
          })];
}

function correlationValue(el) {
  const fixed = JSON.parse(el.dataset.fixed || "[]");
  const pairs = Array.from(el.querySelectorAll("tr.corr-row")).map((row) => {
    const r = numberOrText(row.querySelector("[data-c=rho]").value);
    return { names: [row.querySelector("[data-c=a]").value.trim(), row.querySelector("[data-c=b]").value.trim()],
             matrix: [[1, r], [r, 1]] };
  });
  return [...fixed, ...pairs];
}

function fieldValue(el) {
  const kind = el.dataset.kind;
  const panel = distPanel(el);
  if (panel && !panel.hidden) return panelDist(panel);
  if (kind === "correlations") return correlationValue(el);
  if (kind === "bool") return el.checked;
  if (kind === "path") return parsePath(el.value);
  if (kind === "int" || kind === "float" || kind === "optional_int" || kind === "optional_float") {
    if (el.value.trim() === "") return kind.startsWith("optional") ? null : el.value;
    const n = Number(el.value);
    return Number.isNaN(n) ? el.value : n;
  }
  return el.value;
}

function initialValue(el) {
  const kind = el.dataset.kind;
  const init = el.dataset.initial;
  const dist = el.dataset.distInitial ? JSON.parse(el.dataset.distInitial) : null;
  if (dist) return canonDist(dist);
  if (kind === "correlations") return correlationGroups(JSON.parse(init || "[]"));
  if (kind === "bool") return init === "true";
  if (kind === "path") return parsePath(init);
  if (kind.endsWith("int") || kind.endsWith("float")) return init === "" ? null : Number(init);
  return init;
}

function collectOverrides(form) {
  const out = {};
  form.querySelectorAll("[data-path]").forEach((el) => {
    let v = fieldValue(el);
    if (v && typeof v === "object" && "dist" in v) v = canonDist(v);
    if (JSON.stringify(v) !== JSON.stringify(initialValue(el))) out[el.dataset.path] = v;
  });
  return out;
}

function hasDistribution(overrides, form) {
  // any distribution in the scenario as edited (changed here or already in the base)
  const text = JSON.stringify(overrides);
  if (text.includes('"dist"')) return true;
  return Array.from(form.querySelectorAll("[data-path]")).some((el) => {
    if (el.dataset.path in overrides) return false;
    const panel = distPanel(el);
    return (panel && !panel.hidden) || (el.dataset.kind === "path" && el.value.includes("("));
  });
}

function setDist(btn, panel, input, on) {
  // show or hide a field's distribution panel; while it is shown the number is greyed (not used)
  panel.hidden = !on;
  btn.setAttribute("aria-expanded", on ? "true" : "false");
  input.classList.toggle("by-dist", on);
  input.title = on ? "replaced by the distribution below (type a number to use a number again)" : "";
}

function initDistributions(form) {
  DIST_PARAMS = JSON.parse(form.dataset.distParams || "{}");
  OPTIONAL_PARAMS = JSON.parse(form.dataset.optionalParams || "[]");
  form.querySelectorAll("div.dist").forEach((panel) => {
    showParams(panel);
    panel.querySelector("[data-p=dist]").addEventListener("change", () => showParams(panel));
  });
  form.querySelectorAll("button[data-dist-toggle]").forEach((btn) => {
    btn.addEventListener("click", () => {
      const panel = document.getElementById(btn.dataset.distToggle);
      const input = form.querySelector(`[data-dist="${btn.dataset.distToggle}"]`);
      setDist(btn, panel, input, panel.hidden);
      form.dispatchEvent(new Event("change"));
    });
  });
  // typing a number where a distribution is open: the number replaces the distribution
  form.querySelectorAll("input[data-dist]").forEach((input) => {
    input.addEventListener("input", () => {
      const panel = distPanel(input);
      if (panel && !panel.hidden) setDist(form.querySelector(`[data-dist-toggle="${input.dataset.dist}"]`), panel, input, false);
    });
  });
  const rows = document.getElementById("corr-rows");
  const add = document.getElementById("corr-add");
  if (rows && add) {
    add.addEventListener("click", () => {
      rows.appendChild(document.getElementById("corr-row-template").content.cloneNode(true));
      form.dispatchEvent(new Event("change"));
    });
    rows.addEventListener("click", (ev) => {
      if (!ev.target.classList.contains("corr-del")) return;
      ev.target.closest("tr").remove();
      form.dispatchEvent(new Event("change"));
    });
  }
}

function mcHint(form, overrides) {
  // distributions are sampled only with draws > 1: say so, with the server's limit
  const hint = document.getElementById("mc-hint");
  if (!hint) return;
  const draws = Number((form.querySelector("[data-path='uncertainty.draws']") || { value: "1" }).value);
  const limit = Number(form.dataset.maxDraws || "1");
  if (!hasDistribution(overrides, form) || draws > 1) { hint.hidden = true; return; }
  hint.hidden = false;
  hint.textContent = limit > 1
    ? `Distributions are sampled only with uncertainty.draws > 1 (this server allows at most ${limit}); with 1 draw the run uses their nominal values.`
    : "This server runs one draw (nevsim serve --max-draws 1): distributions keep their nominal values. Start it with --max-draws N for Monte Carlo.";
}

async function postJSON(url, body) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  let data = null;
  const type = r.headers.get("content-type") || "";
  if (type.includes("json")) data = await r.json(); else data = await r.text();
  return { ok: r.ok, status: r.status, data, response: r };
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

async function startRun(body, statusEl, onError) {
  statusEl.textContent = "starting…";
  const r = await postJSON("/api/runs", body);
  if (!r.ok) {
    statusEl.textContent = "";
    onError(r.data && r.data.detail ? r.data.detail : `error ${r.status}`);
    return;
  }
  const id = r.data.run_id;
  statusEl.innerHTML = `running <progress max="1" value="0"></progress>`;
  for (;;) {
    await sleep(250);
    const s = await (await fetch(`/api/runs/${id}`)).json();
    const bar = statusEl.querySelector("progress");
    if (bar && typeof s.progress === "number") bar.value = s.progress;
    if (s.status === "done") { statusEl.textContent = "done"; window.location.href = `/outlook?run=${id}`; return; }
    if (s.status === "failed") { statusEl.textContent = "failed (nothing was saved)"; onError([s.error]); return; }
    if (s.detail) { statusEl.textContent = ""; onError(s.detail); return; }
  }
}

function initRunForms() {
  document.querySelectorAll("form[data-run-form]").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const status = form.querySelector("[data-status]");
      // a failed run: its message (field, text, allowed values), never raw JSON
      startRun({ scenario: form.elements.scenario.value, overrides: {} }, status, (d) => {
        const items = Array.isArray(d) ? d : [{ field: "", msg: String(d) }];
        status.textContent = "The run failed (nothing was saved): " + items.map((x) => errorText(x || {})).join(" ");
        status.classList.add("error");
      });
    });
  });
}

function initEditor() {
  const form = document.getElementById("editor");
  if (!form) return;
  const base = form.dataset.base;
  const changes = document.getElementById("changes");
  let timer = null;
  let seq = 0;
  initDistributions(form);
  const validate = async () => {
    const overrides = collectOverrides(form);
    changes.textContent = JSON.stringify(overrides);
    mcHint(form, overrides);
    const mine = ++seq;
    const r = await postJSON("/api/scenarios/validate", { scenario: base, overrides });
    if (mine !== seq) return r;  // a newer check is on its way
    showErrors(r.ok ? [] : r.data.detail, form);
    return r;
  };
  mcHint(form, {});
  // the save controls (name, description, replace) are not scenario values: leaving them checks nothing
  // (a check then would clear the message of a failed save)
  const saving = (ev) => ev.target && ev.target.closest && ev.target.closest("[data-save-control]");
  form.addEventListener("input", (ev) => { if (saving(ev)) return; clearTimeout(timer); timer = setTimeout(validate, 300); });
  form.addEventListener("change", (ev) => { if (saving(ev)) return; clearTimeout(timer); timer = setTimeout(validate, 50); });
  form.addEventListener("submit", (ev) => ev.preventDefault());
  document.getElementById("validate-btn").addEventListener("click", validate);
  document.getElementById("run-btn").addEventListener("click", async () => {
    const r = await validate();
    if (!r.ok) return;
    await startRun({ scenario: base, overrides: collectOverrides(form) }, document.getElementById("run-status"),
      (d) => showErrors(d, form));
  });
  const saveBody = () => ({ scenario: base, overrides: collectOverrides(form),
    name: document.getElementById("save-name").value.trim() || "my-scenario",
    description: document.getElementById("save-description").value,
    replace: document.getElementById("save-replace").checked });
  document.getElementById("save-btn").addEventListener("click", async () => {
    const status = document.getElementById("save-status");
    const saveError = document.getElementById("save-error");
    saveError.textContent = "";
    status.textContent = "saving…";
    const r = await postJSON("/api/scenarios", saveBody());
    if (r.ok) { status.innerHTML = `saved as <a href="/editor?scenario=${r.data.name}">${r.data.name}</a>`; return; }
    status.textContent = "";
    // the name, description and replace errors are the save's own: shown next to the Save button, where the
    // next check of the scenario values does not clear them; an error in a value goes under its field as well
    const detail = Array.isArray(r.data && r.data.detail) ? r.data.detail : [{ field: "", msg: (r.data && r.data.detail) || `error ${r.status}` }];
    saveError.textContent = "Not saved: " + detail.map(errorText).join(" ");
    const inForm = detail.filter((d) => !["name", "description", "replace", "body", ""].includes(d.field || ""));
    if (inForm.length) showErrors(inForm, form);
  });
  document.getElementById("toml-btn").addEventListener("click", async () => {
    const body = saveBody();
    const r = await fetch("/api/scenarios/toml", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (!r.ok) { showErrors((await r.json()).detail, form); return; }
    const blob = await r.blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${body.name}.toml`;
    document.body.appendChild(a); a.click(); a.remove();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  renderPlots();
  initRunForms();
  initEditor();
});
