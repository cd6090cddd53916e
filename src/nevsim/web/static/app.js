// nevsim dashboard: draws the plotly figures of a page and drives the editor and run buttons.
"use strict";

function renderPlots() {
  document.querySelectorAll("div.plot[data-json]").forEach((div) => {
    const src = document.getElementById(div.dataset.json);
    if (!src) return;
    const fig = JSON.parse(src.textContent);
    const layout = Object.assign({}, fig.layout || {}, { autosize: true });
    Plotly.newPlot(div, fig.data || [], layout, { responsive: true, displaylogo: false })
      .then(() => { div.dataset.ready = "1"; });
  });
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
    const field = d.field || "";
    let text = (field ? field + ": " : "") + (d.msg || "");
    if (d.allowed && d.allowed.length) text += " Allowed: " + d.allowed.slice(0, 20).join(", ") + ".";
    // the longest field path that is a prefix of the error's path (year keys sit below a path)
    let best = null;
    slots.forEach((s) => {
      const p = s.dataset.errFor;
      if ((field === p || field.startsWith(p + ".")) && (!best || p.length > best.dataset.errFor.length)) best = s;
    });
    if (best) {
      best.textContent = text;
      best.closest(".field").classList.add("invalid");
    } else if (general) {
      general.textContent = text;
    } else {
      alert(text);
    }
  });
}

function parsePath(text) {
  // "2025: 40, 2030: 60" → {"2025": 40, "2030": 60}; unreadable text is sent as is (the server says why)
  const out = {};
  const t = text.trim();
  if (!t) return out;
  for (const part of t.split(/[,;\n]+/)) {
    if (!part.trim()) continue;
    const m = part.split(/[:=]/);
    if (m.length !== 2) return text;
    const year = m[0].trim();
    const value = Number(m[1].trim());
    if (!/^\d+$/.test(year) || m[1].trim() === "" || Number.isNaN(value)) return text;
    out[year] = value;
  }
  return out;
}

function fieldValue(el) {
  const kind = el.dataset.kind;
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
  if (kind === "bool") return init === "true";
  if (kind === "path") return parsePath(init);
  if (kind.endsWith("int") || kind.endsWith("float")) return init === "" ? null : Number(init);
  return init;
}

function collectOverrides(form) {
  const out = {};
  form.querySelectorAll("[data-path]").forEach((el) => {
    const v = fieldValue(el);
    if (JSON.stringify(v) !== JSON.stringify(initialValue(el))) out[el.dataset.path] = v;
  });
  return out;
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
      startRun({ scenario: form.elements.scenario.value, overrides: {} }, status, (d) => { status.textContent = JSON.stringify(d); });
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
  const validate = async () => {
    const overrides = collectOverrides(form);
    changes.textContent = JSON.stringify(overrides);
    const mine = ++seq;
    const r = await postJSON("/api/scenarios/validate", { scenario: base, overrides });
    if (mine !== seq) return r;  // a newer check is on its way
    showErrors(r.ok ? [] : r.data.detail, form);
    return r;
  };
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(validate, 300); });
  form.addEventListener("change", () => { clearTimeout(timer); timer = setTimeout(validate, 50); });
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
    description: document.getElementById("save-description").value });
  document.getElementById("save-btn").addEventListener("click", async () => {
    const status = document.getElementById("save-status");
    const r = await postJSON("/api/scenarios", saveBody());
    if (r.ok) { status.innerHTML = `saved as <a href="/editor?scenario=${r.data.name}">${r.data.name}</a>`; }
    else { status.textContent = ""; showErrors(r.data.detail, form); }
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
