/**
 * The dashboard page: one HTML document with its CSS and script inline, so
 * it ships in the package as it is (no build step, works from the npm build
 * and a URL import). It holds no data: its script reads `api/overview`
 * (relative to the page) every few seconds and builds every element with
 * `textContent`, never HTML from data, so a task name or argument such as
 * `<script>` shows as text. Actions POST JSON with `X-Huey-Dashboard: 1`.
 *
 * @module
 */

/** The dashboard page (see the module doc). */
export const DASHBOARD_PAGE: string = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>huey dashboard</title>
<style>
  :root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --bg: #f7f8fa; --card: #fff;
          --ok: #1a7f37; --bad: #c4320a; --accent: #3559c7; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; align-items: baseline; gap: 12px; padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
  header h1 { font-size: 18px; margin: 0; }
  header .muted { flex: 1; }
  main { padding: 16px 24px 40px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; overflow: auto; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 14px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
  .cards { display: flex; flex-wrap: wrap; gap: 12px; }
  .card { flex: 1 1 120px; border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; }
  .card b { display: block; font-size: 22px; }
  .card span, .muted { color: var(--muted); font-size: 12px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { font-weight: 600; color: var(--muted); font-size: 12px; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
  td.reason { font-size: 12px; min-width: 160px; max-width: 320px; overflow-wrap: anywhere; }
  td.wrap { min-width: 110px; }
  .axis { display: flex; justify-content: space-between; font-size: 11px; color: var(--muted); }
  button { font: inherit; font-size: 12px; padding: 2px 10px; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; }
  button:hover { border-color: var(--accent); color: var(--accent); }
  button.danger:hover { border-color: var(--bad); color: var(--bad); }
  .revoked { color: var(--bad); font-weight: 600; }
  .alive { color: var(--ok); } .dead { color: var(--bad); }
  #status { font-size: 12px; } #status.error { color: var(--bad); }
  svg { width: 100%; height: 160px; display: block; }
  .legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); }
  .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
  .empty { color: var(--muted); font-style: italic; }
</style>
</head>
<body>
<header><h1>huey</h1><span class="muted" id="app"></span><span id="status">loading…</span></header>
<main>
  <section class="wide"><div class="cards" id="cards"></div></section>
  <section class="wide"><h2>Last hour, per minute</h2>
    <div class="legend" id="legend"></div><svg id="chart" viewBox="0 0 600 160" preserveAspectRatio="none"></svg>
    <div class="axis"><span>60 min ago</span><span>30 min ago</span><span>now</span></div></section>
  <section class="wide"><h2>Tasks</h2><div id="tasks"></div></section>
  <section><h2>Running</h2><div id="running"></div></section>
  <section class="wide"><h2>Dead letters <span id="dead-actions"></span></h2><div id="dead"></div></section>
  <section><h2>Scheduled</h2><div id="scheduled"></div></section>
  <section><h2>Pending</h2><div id="pending"></div></section>
  <section><h2>Periodic tasks</h2><div id="periodic"></div></section>
  <section><h2>Consumers</h2><div id="consumers"></div></section>
</main>
<script>
"use strict";
const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
const SERIES = [["done", "#1a7f37"], ["errors", "#c4320a"], ["queued", "#3559c7"], ["running", "#b58900"]];
const $ = (id) => document.getElementById(id);

/** An element with text (never HTML) and attributes. */
function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}
function time(ms) {
  if (ms === undefined || ms === null) return "";
  const date = new Date(ms);
  // Today's times without the date: the tables stay narrow.
  return date.toDateString() === new Date().toDateString() ? date.toLocaleTimeString() : date.toLocaleString();
}
function seconds(s) { return s < 1 ? (s * 1000).toFixed(1) + " ms" : s.toFixed(2) + " s"; }

/** A table of rows; each column is [title, row => text or Node, class?]. */
function table(rows, columns, emptyText) {
  if (!rows || rows.length === 0) return el("p", emptyText || "none", { class: "empty" });
  const t = el("table");
  const head = t.createTHead().insertRow();
  for (const [title] of columns) head.appendChild(el("th", title));
  const bodyRows = t.createTBody();
  for (const row of rows) {
    const tr = bodyRows.insertRow();
    for (const [, cell, kind] of columns) {
      const td = tr.insertCell();
      if (kind) td.className = kind === true ? "num" : kind;
      const value = cell(row);
      if (value instanceof Node) td.appendChild(value); else td.textContent = value === undefined ? "" : String(value);
    }
  }
  return t;
}
function put(id, node) { $(id).replaceChildren(node); }
function code(text) { return el("code", text); }

async function act(path, payload, button) {
  button.disabled = true;
  try {
    const response = await fetch(base + "api/" + path, {
      method: "POST",
      headers: { "content-type": "application/json", "x-huey-dashboard": "1" },
      body: JSON.stringify(payload),
    });
    const answer = await response.json();
    setStatus(response.ok ? path + " done" : answer.error, !response.ok, true);
  } catch (error) {
    setStatus(String(error), true, true);
  }
  await refresh();
}
function button(label, path, payload, danger) {
  const b = el("button", label, danger ? { class: "danger" } : {});
  b.dataset.action = path;
  b.addEventListener("click", () => act(path, payload, b));
  return b;
}
/** Until when an action's answer stays shown over the refreshes' "updated" line (ms). */
let shownUntil = 0;
function setStatus(text, bad, sticky) {
  const s = $("status");
  s.textContent = text;
  s.className = bad ? "error" : "muted";
  if (sticky) shownUntil = Date.now() + 5000;
}

/** Quantile q of a cumulative histogram, as the upper bound of its bucket. */
function quantile(m, bounds, q) {
  const want = m.timed * q;
  for (let i = 0; i < bounds.length; i++) if (m.buckets[i] >= want) return "≤ " + seconds(bounds[i]);
  return "> " + seconds(bounds[bounds.length - 1]);
}

function chart(history) {
  const svg = $("chart");
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  const max = Math.max(1, ...history.flatMap((m) => SERIES.map(([s]) => m.values[s])));
  const x = (i) => (i / Math.max(1, history.length - 1)) * 600;
  const y = (v) => 150 - (v / max) * 140;
  for (const frac of [0, 0.5, 1]) {
    const line = document.createElementNS(ns, "line");
    for (const [k, v] of [["x1", 0], ["x2", 600], ["y1", y(max * frac)], ["y2", y(max * frac)]]) line.setAttribute(k, v);
    line.setAttribute("stroke", "#e4e7ec");
    svg.appendChild(line);
  }
  for (const [series, color] of SERIES) {
    const path = document.createElementNS(ns, "polyline");
    path.setAttribute("points", history.map((m, i) => x(i).toFixed(1) + "," + y(m.values[series]).toFixed(1)).join(" "));
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", color);
    path.setAttribute("stroke-width", "2");
    path.setAttribute("vector-effect", "non-scaling-stroke");
    svg.appendChild(path);
  }
  const legend = $("legend");
  legend.replaceChildren(...SERIES.map(([series, color]) => {
    const item = el("span", series + " (max " + Math.max(0, ...history.map((m) => m.values[series])) + ")");
    const swatch = el("i");
    swatch.style.background = color;
    item.prepend(swatch);
    return item;
  }), el("span", "peak " + max + " per minute"));
}

function render(o) {
  $("app").textContent = o.name + " · " + o.storage;
  const q = o.metrics.queue;
  const alive = o.consumers.filter((c) => c.alive).length;
  const cards = [["queued", q.queued], ["scheduled", q.scheduled], ["running", q.running], ["results", q.results],
    ["dead letters", q.deadLetters], ["set aside", o.metrics.setAside]];
  cards.push(["consumers alive", alive]);
  $("cards").replaceChildren(...cards.map(([label, value]) => {
    const card = el("div", null, { class: "card", "data-gauge": label });
    card.append(el("b", value), el("span", label));
    return card;
  }));
  chart(o.metrics.history);

  const byTask = new Map(o.tasks.map((t) => [t.name, { ...t, outcomes: {}, timed: null }]));
  for (const m of o.metrics.tasks) {
    const t = byTask.get(m.task);
    if (!t) continue;
    t.outcomes[m.outcome] = m.count;
    if (m.outcome === "complete" && m.timed) t.timed = m;
  }
  const count = (name) => (t) => t.outcomes[name] || 0;
  put("tasks", table([...byTask.values()], [
    ["task", (t) => code(t.name)],
    ["complete", count("complete"), true], ["error", count("error"), true], ["retried", count("retried"), true],
    ["timeout", count("timeout"), true], ["revoked", count("revoked"), true], ["expired", count("expired"), true],
    ["cancelled", count("cancelled"), true],
    ["mean", (t) => (t.timed ? seconds(t.timed.durationSum / t.timed.timed) : ""), true],
    ["p50", (t) => (t.timed ? quantile(t.timed, o.metrics.bounds, 0.5) : ""), true],
    ["p95", (t) => (t.timed ? quantile(t.timed, o.metrics.bounds, 0.95) : ""), true],
    ["state", (t) => (t.revoked ? el("span", "revoked", { class: "revoked" }) : "active")],
    ["", (t) => (t.revoked ? button("restore", "restore", { task: t.name }) : button("revoke", "revoke", { task: t.name }, true))],
  ], "no tasks declared"));

  put("running", table(o.running, [
    ["task", (r) => code(r.name)], ["args", (r) => code(r.args)], ["id", (r) => code(r.id)],
    ["started", (r) => time(r.startedAt)], ["consumer", (r) => (r.consumer ? code(r.consumer.slice(0, 8)) : "")],
    ["progress", (r) => (r.progress === undefined ? "" : Math.round(r.progress * 100) + "%"), true],
    ["", (r) => button("cancel", "cancel", { id: r.id }, true)],
  ]));
  const dead = o.deadLetters;
  const requeueAll = dead.length > 1 ? button("requeue all", "requeue", { id: "all" }) : null;
  $("dead-actions").replaceChildren(...(requeueAll ? [requeueAll] : []));
  put("dead", table(dead, [
    ["task", (d) => code(d.taskName || "?"), "wrap"], ["id", (d) => code(d.taskId || d.id), "wrap"], ["args", (d) => code(d.args === undefined ? "" : d.args), "wrap"],
    ["reason", (d) => d.kind + ": " + d.reason, "reason"], ["attempts", (d) => d.attempts, true],
    ["when", (d) => time(d.time)],
    ["", (d) => button("requeue", "requeue", { id: d.id })],
  ]));
  const tasks = (rows) => table(rows, [["task", (t) => code(t.name)], ["args", (t) => code(t.args)],
    ["eta", (t) => time(t.eta)], ["id", (t) => code(t.id)],
    ["", (t) => button("cancel", "cancel", { id: t.id }, true)]]);
  put("scheduled", tasks(o.scheduled));
  put("pending", tasks(o.pending));
  put("periodic", table(o.periodic, [["task", (p) => code(p.name)], ["schedule", (p) => code(p.schedule)],
    ["next run", (p) => time(p.nextRun)]]));
  put("consumers", table(o.consumers, [
    ["id", (c) => code(c.id)], ["host", (c) => c.host], ["pid", (c) => c.pid, true],
    ["workers", (c) => c.workers + " " + c.workerType], ["last beat", (c) => time(c.lastBeat)],
    ["", (c) => el("span", c.alive ? "alive" : "dead", { class: c.alive ? "alive" : "dead" })],
  ]));
}

async function refresh() {
  try {
    const response = await fetch(base + "api/overview", { cache: "no-store" });
    const body = await response.json();
    if (!response.ok) return setStatus(body.error || response.statusText, true);
    render(body);
    document.body.dataset.loaded = String(Date.now());
    if (Date.now() > shownUntil) setStatus("updated " + new Date().toLocaleTimeString());
  } catch (error) {
    setStatus("cannot load: " + error, true);
  }
}
refresh();
setInterval(refresh, 3000);
</script>
</body>
</html>
`;
