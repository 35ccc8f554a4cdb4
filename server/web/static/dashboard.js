// WedSync Marketing dashboard: draws the org's ROI report (the same JSON the app reads), keeps
// it live through server-sent events and shows the last snapshot when offline.
// No framework and no build step; text from the report is set as text, never as HTML.
"use strict";

const TARGETS = { roi_pct: 300, conversion_rate: 0.4, viral: 1.2, viral_warning: 1.0 };
const MODELS = ["first_touch", "last_touch", "linear", "time_decay", "position_based", "markov",
  "shapley"];
const MODEL_NAMES = { first_touch: "First touch", last_touch: "Last touch", linear: "Linear",
  time_decay: "Time decay", position_based: "Position", markov: "Markov", shapley: "Shapley" };
const TIER_NAMES = { excellent: "Excellent", good: "Good", profitable: "Profitable",
  needs_optimization: "Needs optimisation" };
const SVG = "http://www.w3.org/2000/svg";

const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD",
  maximumFractionDigits: 0 });
const money2 = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD",
  maximumFractionDigits: 2 });
const num = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const dec = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 });
const pct = (x) => (x == null ? "—" : `${num.format(x * 100)} %`);
const fmtMoney = (x) => (x == null ? "—" : money.format(x));
const fmtTime = (ms) => new Date(ms).toLocaleString(undefined, { dateStyle: "medium",
  timeStyle: "medium" });
const fmtDate = (ms) => new Date(ms).toLocaleDateString(undefined, { dateStyle: "medium" });
const words = (s) => String(s).replaceAll("_", " ");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null) continue;
    if (k === "class") node.className = v;
    else if (k === "style") Object.assign(node.style, v); // CSSOM: allowed by the page's CSP
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c == null) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c));
  return node;
}

// ------------------------------------------------------------------ figures

function status(value, healthy, warning) {
  if (value == null) return null;
  return value >= healthy ? "healthy" : value >= warning ? "warning" : "critical";
}

function journeyConversionRate(report) {
  const p = report.attribution && report.attribution.paths;
  if (!p) return null;
  const all = p.converting + p.non_converting;
  return all ? p.converting / all : null;
}

function kpis(report) {
  const s = report.summary || {};
  const viral = report.viral || {};
  const ltv = report.ltv || {};
  const supp = (ltv.segments || {}).suppliers || {};
  const nps = (ltv.nps || {}).nps;
  const conv = journeyConversionRate(report);
  const k = viral.viral_coefficient;
  return [
    { key: "roi", label: "Marketing ROI", value: s.total_roi_pct,
      text: s.total_roi_pct == null ? "—" : `${num.format(s.total_roi_pct)} %`,
      target: "target > 300 %", state: status(s.total_roi_pct, TARGETS.roi_pct, 100) },
    { key: "attributed_revenue", label: "Attributed revenue", value: s.attributed_revenue,
      text: fmtMoney(s.attributed_revenue),
      target: `of ${fmtMoney(s.revenue)} revenue, ${num.format(s.conversions || 0)} conversions` },
    { key: "conversion_rate", label: "Conversion rate", value: conv, text: pct(conv),
      target: "converting journeys · target > 40 %",
      state: status(conv, TARGETS.conversion_rate, 0.3) },
    { key: "viral_coefficient", label: "Viral coefficient", value: k,
      text: k == null ? "—" : dec.format(k), target: "target ≥ 1.20",
      state: status(k, TARGETS.viral, TARGETS.viral_warning) },
    { key: "cac", label: "CAC", value: ltv.cac, text: ltv.cac == null ? "—" : money2.format(ltv.cac),
      target: "cost per new customer" },
    { key: "ltv", label: "LTV (suppliers)", value: supp.ltv, text: fmtMoney(supp.ltv),
      target: "lifetime value per account" },
    { key: "ltv_to_cac", label: "LTV : CAC", value: supp.ltv_to_cac,
      text: supp.ltv_to_cac == null ? "—" : `${dec.format(supp.ltv_to_cac)} : 1`,
      target: supp.ltv_to_cac == null ? "suppliers · no new supplier in this period"
        : "suppliers · healthy ≥ 3", state: status(supp.ltv_to_cac, 3, 1) },
    { key: "nps", label: "NPS", value: nps, text: nps == null ? "—" : num.format(nps),
      target: `${num.format((ltv.nps || {}).responses || 0)} responses`,
      state: status(nps, 30, 0) },
  ];
}

function renderTiles(report) {
  const box = document.getElementById("kpis");
  box.replaceChildren(...kpis(report).map((t) => el("div",
    { class: `tile ${t.state || ""}`, "data-kpi": t.key, "data-value": t.value == null ? "" : t.value },
    el("div", { class: "label" }, t.label,
      t.state ? el("span", { class: `badge ${t.state}` }, t.state) : null),
    el("div", { class: "value" }, t.text),
    el("div", { class: "target" }, t.target))));
}

// ------------------------------------------------------------------ charts

function barChart(box, items, { value, label, line, lineLabel, barLabel, target }) {
  const w = 560, h = 220, pad = { l: 24, r: 24, t: 22, b: 28 };
  const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img",
    "aria-label": barLabel });
  if (!items.length) {
    box.replaceChildren(el("p", { class: "muted" }, "No data in this period."));
    return;
  }
  const max = Math.max(...items.map((d) => value(d) || 0), line ? 0 : target || 0, 1e-9);
  const lmax = line ? Math.max(...items.map((d) => line(d) || 0), target || 0, 1e-9) : 1;
  const bw = (w - pad.l - pad.r) / items.length;
  const y = (v, m) => pad.t + (h - pad.t - pad.b) * (1 - v / m);
  root.append(svg("line", { class: "axis", x1: pad.l, x2: w - pad.r, y1: h - pad.b, y2: h - pad.b }));
  const every = Math.ceil(items.length / 8);
  items.forEach((d, i) => {
    const v = value(d) || 0;
    const x = pad.l + i * bw;
    const rect = svg("rect", { class: "bar-rect", x: x + bw * 0.15, width: bw * 0.7,
      y: y(v, max), height: Math.max(0, h - pad.b - y(v, max)) });
    rect.append(svg("title", {}, `${label(d)}: ${barLabel === "Revenue" ? fmtMoney(v) : dec.format(v)}`));
    root.append(rect);
    if (i % every === 0) {
      root.append(svg("text", { x: x + bw / 2, y: h - 10, "text-anchor": "middle" }, label(d)));
    }
  });
  if (line) {
    const pts = items.map((d, i) => [pad.l + i * bw + bw / 2, line(d)])
      .filter(([, v]) => v != null).map(([x, v]) => `${x},${y(v, lmax)}`);
    if (pts.length) root.append(svg("polyline", { class: "line", points: pts.join(" ") }));
  }
  if (target != null) {
    root.append(svg("line", { class: "target-line", x1: pad.l, x2: w - pad.r,
      y1: y(target, line ? lmax : max), y2: y(target, line ? lmax : max) }));
  }
  root.append(svg("text", { x: pad.l, y: 11 },
    `max ${barLabel === "Revenue" ? fmtMoney(max) : dec.format(max)}`));
  box.replaceChildren(root, el("div", { class: "legend" },
    el("i", { class: "swatch-bar" }), barLabel,
    line ? [el("i", { class: "swatch-line" }), lineLabel] : null,
    target != null ? [el("i", { class: "swatch-target" }), `target ${target}`] : null));
}

function renderCharts(report) {
  // the report's series (days, weeks or 30-day spans) when it has one, else its months
  const series = (report.series || {}).buckets;
  const daily = (report.series || {}).bucket_ms === 86400000;
  const items = series && series.length ? series : report.growth || [];
  document.getElementById("growth-h").textContent = series && series.length
    ? `Revenue and conversions by ${daily ? "day" : "week"}` : "Revenue and conversions by month";
  barChart(document.getElementById("chart-growth"), items, {
    value: (d) => d.revenue,
    label: (d) => (d.month || fmtDate(d.from_ms).replace(/,? \d{4}$/, "")),
    line: (d) => d.conversions, barLabel: "Revenue", lineLabel: "Conversions" });
  const buckets = ((report.viral || {}).trend || {}).buckets || [];
  const shown = buckets.filter((b) => b.joined > 0);
  barChart(document.getElementById("chart-viral"), shown, {
    value: (d) => d.k, label: (d) => fmtDate(d.from_ms).replace(/,? \d{4}$/, ""),
    barLabel: "K per cohort (accepted invites ÷ new users)", target: TARGETS.viral });
}

// ------------------------------------------------------------------ tables

function table(id, head, rows) {
  const t = document.getElementById(id);
  t.replaceChildren(el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows.map((r) => el("tr", {}, r.map((c) =>
      c instanceof Node ? c : el("td", {}, c))))
      : el("tr", {}, el("td", { colspan: head.length, class: "muted" }, "Nothing in this period."))));
}

function bar(share) {
  return el("td", { class: "bar-cell" }, el("span", { class: "hbar",
    style: { width: `${Math.round(Math.max(0, Math.min(1, share)) * 80)}px` } }));
}

function renderChannels(report) {
  const rows = (report.channels || []).slice()
    .sort((a, b) => (b.linear || {}).revenue - (a.linear || {}).revenue);
  const top = Math.max(...rows.map((c) => (c.linear || {}).revenue || 0), 1e-9);
  table("channels", ["Channel", "Touches", "Cost", "Conversions", "Revenue", "", "ROI"],
    rows.map((c) => [words(c.channel), num.format(c.touches), c.priced ? fmtMoney(c.cost) : "not priced",
      dec.format((c.linear || {}).conversions || 0), fmtMoney((c.linear || {}).revenue),
      bar(((c.linear || {}).revenue || 0) / top),
      c.roi_ratio == null ? "—" : `${num.format(c.roi_ratio * 100)} %`]));
}

function campaignNames(report) {
  return Object.fromEntries((report.campaigns || []).map((c) => [c.campaign, c.name || "(unnamed)"]));
}

function renderCampaigns(report) {
  const rows = (report.campaigns || []).slice().sort((a, b) => (b.roi_ratio ?? -1e9) - (a.roi_ratio ?? -1e9));
  table("campaigns", ["Campaign", "Sends", "Open", "Click", "Conv.", "Conv. rate", "Revenue", "Cost",
    "ROI", "Tier"],
  rows.map((c) => [c.name || "(unnamed)", num.format(c.sends), pct(c.open_rate), pct(c.click_rate),
    dec.format(c.conversions), pct(c.conversion_rate), fmtMoney(c.revenue), fmtMoney(c.cost),
    c.roi_ratio == null ? "—" : `${num.format(c.roi_ratio * 100)} %`,
    el("td", {}, el("span", { class: `badge ${{ excellent: "healthy", good: "healthy",
      profitable: "warning", needs_optimization: "critical" }[c.tier] || ""}` },
    TIER_NAMES[c.tier] || c.tier || "—"))]));
}

function renderViral(report) {
  const v = report.viral || {};
  const cycle = v.cycle || {};
  const facts = [
    ["Viral coefficient", v.viral_coefficient == null ? "—" : dec.format(v.viral_coefficient)],
    ["Cycle K (per new user)", cycle.k == null ? "—" : dec.format(cycle.k)],
    ["Cycle time (median)", ((v.cycle_time_days || {}).median == null) ? "—"
      : `${dec.format(v.cycle_time_days.median)} days`],
    ["Invites sent", num.format(v.invites_sent || 0)],
    ["Invites accepted", num.format(v.invites_accepted || 0)],
    ["Acceptance rate", pct(v.acceptance_rate)],
    ["Marketing-assisted invites", `${num.format(v.marketing_assisted_invites || 0)} (${pct(v.marketing_assisted_share)})`],
  ];
  const dl = document.getElementById("viral");
  dl.replaceChildren(...facts.flatMap(([k, val]) => [el("dt", {}, k), el("dd", {}, val)]));
  dl.setAttribute("title", v.viral_coefficient_definition || "");
  table("connectors", ["Contact", "Accepted", "2nd gen.", "Downstream", "Revenue"],
    (v.super_connectors || []).slice(0, 8).map((s) => [s.contact, num.format(s.accepted_invites),
      num.format(s.second_generation_invites), num.format(s.downstream_invites),
      fmtMoney(s.downstream_revenue)]));
}

function renderPaths(report) {
  const a = report.attribution || {};
  const p = a.paths || {};
  const box = document.getElementById("paths");
  const examples = (p.examples || []).slice(0, 8).map((path) => {
    const steps = String(path).split(" → ");
    return el("div", { class: "path" }, steps.flatMap((s, i) => [
      i ? el("span", { class: "arrow" }, "→") : null, el("span", { class: "step" }, words(s))]),
    el("span", { class: "arrow" }, "→"), el("span", { class: "step" }, "conversion"));
  });
  box.replaceChildren(
    el("p", {}, `${num.format(p.converting || 0)} converting and ${num.format(p.non_converting || 0)} `
      + `non-converting journeys; ${num.format(p.unattributed_conversions || 0)} conversions had no touch.`),
    ...examples,
    a.caveat ? el("p", { class: "muted" }, a.caveat) : null);
}

function renderModels(report) {
  const a = report.attribution || {};
  const ch = a.channels || {};
  const names = new Set();
  for (const m of MODELS) Object.keys((ch[m] || {}).credit || {}).forEach((n) => names.add(n));
  const dis = (a.disagreement || {}).channels || {};
  const rows = [...names].sort().map((n) => [words(n),
    ...MODELS.map((m) => { const c = ((ch[m] || {}).credit || {})[n]; return c ? dec.format(c.conversions) : "—"; }),
    dis[n] ? `${num.format(dis[n].spread * 100)} pts` : "—"]);
  table("models", ["Channel", ...MODELS.map((m) => MODEL_NAMES[m]), "Spread"], rows);
  const most = (a.disagreement || {}).most_different_models || [];
  document.getElementById("models-note").textContent = `Conversions credited to each channel by each `
    + `model. Spread: the gap between the models' largest and smallest share.`
    + (most.length ? ` Most different: ${most.map((m) => MODEL_NAMES[m] || m).join(" and ")}.` : "");
}

function recommendationText(r, names) {
  const what = words(r.action);
  const about = r.campaign ? `campaign “${names[r.campaign] || "(unnamed)"}”`
    : r.channel ? `channel ${words(r.channel)}`
    : r.contacts ? `${r.contacts.length} contact${r.contacts.length === 1 ? "" : "s"} (${r.contacts.slice(0, 3).join(", ")}${r.contacts.length > 3 ? ", …" : ""})`
    : null;
  return about ? `${what[0].toUpperCase()}${what.slice(1)}: ${about}` : what[0].toUpperCase() + what.slice(1);
}

function renderRecommendations(report) {
  const names = campaignNames(report);
  const recs = report.recommendations || [];
  const ul = document.getElementById("recommendations");
  ul.replaceChildren(...(recs.length ? recs.slice(0, 12).map((r) => el("li", {}, recommendationText(r, names)))
    : [el("li", { class: "muted" }, "No recommendation for this period.")]));
}

// ------------------------------------------------------------------ state

const state = { period: document.body.dataset.period || "quarter", loading: null, again: false,
  snapshot: null, offline: false, live: false };
const SNAPSHOT_KEY = "wedsync-dashboard-snapshot";

function showStatus() {
  const s = document.getElementById("status");
  if (!state.snapshot) { s.textContent = state.offline ? "Offline: no snapshot yet" : "Loading…"; return; }
  const asOf = fmtTime(state.snapshot.as_of_ms);
  s.className = state.offline ? "status offline" : "status";
  s.textContent = state.offline ? `Offline · last snapshot as of ${asOf}` : `${state.live ? "Live" : "Connecting"} · as of ${asOf}`;
  s.dataset.asOf = String(state.snapshot.as_of_ms);
  s.dataset.offline = state.offline ? "1" : "0";
}

function render(snapshot) {
  const report = snapshot.report;
  state.snapshot = snapshot;
  const w = report.window || {};
  document.getElementById("window").textContent = `${document.querySelector(`#period option[value="${snapshot.period}"]`)?.textContent || snapshot.period}: `
    + `${fmtDate(w.from_ms)} – ${fmtDate(w.to_ms)} · signed in as ${snapshot.user}`;
  renderTiles(report);
  renderCharts(report);
  renderChannels(report);
  renderCampaigns(report);
  renderViral(report);
  renderPaths(report);
  renderModels(report);
  renderRecommendations(report);
  document.body.dataset.asOf = String(snapshot.as_of_ms);
  document.body.dataset.from = String(w.from_ms);
  document.body.dataset.to = String(w.to_ms);
  showStatus();
}

async function load() {
  if (state.loading) { state.again = true; return state.loading; }
  state.loading = (async () => {
    try {
      const r = await fetch(`/dashboard/report?period=${encodeURIComponent(state.period)}`,
        { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (r.status === 401) { window.location.assign("/dashboard/login"); return; }
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const snapshot = await r.json();
      state.offline = r.headers.get("X-WedSync-Offline") === "1";
      render(snapshot);
      if (!state.offline) {
        try { localStorage.setItem(SNAPSHOT_KEY, JSON.stringify(snapshot)); } catch (e) { /* full */ }
      }
    } catch (error) {
      state.offline = true;
      const kept = localStorage.getItem(SNAPSHOT_KEY);
      if (kept && !state.snapshot) render(JSON.parse(kept)); else showStatus();
    } finally {
      state.loading = null;
      if (state.again) { state.again = false; load(); }
    }
  })();
  return state.loading;
}

function listen() {
  if (!window.EventSource) return;
  const source = new EventSource("/dashboard/events");
  source.addEventListener("open", () => { state.live = true; if (state.offline) load(); else showStatus(); });
  source.addEventListener("report_changed", () => load());
  source.addEventListener("error", () => { state.live = false; showStatus(); });
}

document.getElementById("period").addEventListener("change", (event) => {
  state.period = event.target.value;
  const url = new URL(window.location.href);
  url.searchParams.set("period", state.period);
  window.history.replaceState(null, "", url);
  load();
});
window.addEventListener("online", () => load());
window.addEventListener("offline", () => { state.offline = true; showStatus(); });
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/dashboard/sw.js", { scope: "/dashboard" }).catch(() => {});
  // once the worker controls the page, fetch through it, so it keeps the report
  navigator.serviceWorker.addEventListener("controllerchange", () => load());
}
load().then(listen);
