/**
 * Page assembly for the reports: one self-contained HTML file (no network) with the chart library inlined.
 *
 * Charts are drawn by Chart.js (MIT). It was chosen because its UMD build is one dependency-free file (~200 kB
 * minified) that can be pasted into a <script> element, it draws on <canvas> (so a headless browser test can check
 * that pixels were drawn), and every chart is described by a plain JSON config, which lets this module build the
 * configs in TypeScript and the page only call `new Chart(canvas, config)`.
 *
 * Page conventions: each chart is a <canvas data-chart="i"> whose config is entry i of the JSON array in
 * <script id="chart-data">; datasets whose label starts with "_" are left out of legends and tooltips (the upper
 * and lower edges of ±std bands). After drawing, the page sets `data-charts-drawn` on <body> to the number of
 * charts drawn, and reports failures with console.error.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { replaceOwnFile, type OwnFile } from "../util/atomic.js";

const require = createRequire(import.meta.url);

let chartJsSource: string | null = null;

/** The Chart.js UMD bundle's text (read once). */
export function chartJs(): string {
  if (chartJsSource === null) {
    const path = join(dirname(require.resolve("chart.js")), "chart.umd.min.js");
    const text = readFileSync(path, "utf8");
    if (/<\/script/i.test(text)) throw new Error(`${path} contains '</script' and cannot be inlined`);
    chartJsSource = text;
  }
  return chartJsSource;
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** JSON for a <script> element: "<" escaped so no data can close the element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/** A number for tables: 3 significant decimals for small values, fixed otherwise; "–" for missing. */
export function fmt(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  const a = Math.abs(v);
  if (a !== 0 && (a < 10 ** -digits || a >= 1e6)) return v.toExponential(digits);
  return v.toFixed(digits);
}

export type ChartConfig = Record<string, unknown>;

/** Collects chart configs and hands out their canvases. */
export class ChartSet {
  readonly configs: ChartConfig[] = [];

  /** A chart figure: title, canvas, optional caption (HTML). */
  figure(title: string, config: ChartConfig, caption = "", wide = false): string {
    const i = this.configs.length;
    this.configs.push(config);
    return `<figure class="chart${wide ? " wide" : ""}"><figcaption>${esc(title)}</figcaption><div class="canvas-box"><canvas data-chart="${i}" role="img" aria-label="${esc(title)}"></canvas></div>${caption ? `<p class="caption">${caption}</p>` : ""}</figure>`;
  }
}

/** A table from header cells and rows of cell HTML (cells are inserted as given: escape text with esc). */
export function table(head: string[], rows: string[][], cls = ""): string {
  const th = head.map((h) => `<th>${h}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n");
  return `<table${cls ? ` class="${cls}"` : ""}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Key–value rows. */
export function facts(rows: [string, string][]): string {
  return `<table class="facts"><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join("")}</tbody></table>`;
}

export function note(html: string, kind: "info" | "warn" = "info"): string {
  return `<p class="note ${kind}">${html}</p>`;
}

/** A palette with enough distinct colours for loss terms and runs; repeats after it runs out. */
export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

export function colour(i: number, alpha = 1): string {
  const hex = PALETTE[i % PALETTE.length];
  if (alpha === 1) return hex;
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

const CSS = `
:root { --fg: #1d232b; --muted: #5b6573; --line: #dfe3e8; --bg: #ffffff; --panel: #f6f8fa; --accent: #1f5fa8; --warn: #9a5b00; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 0 0 14px; }
.label { background: #fff7e6; border: 1px solid #f0d9a8; color: #5c4400; padding: 8px 12px; border-radius: 6px; margin: 12px 0; }
.note { color: var(--muted); margin: 6px 0; }
.note.warn { color: var(--warn); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 200px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 20px; font-weight: 600; }
.card .d { color: var(--muted); font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 18px; }
figure.chart { margin: 0; background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
figure.chart.wide { grid-column: 1 / -1; }
figure.chart figcaption { font-weight: 600; margin-bottom: 6px; }
.canvas-box { position: relative; height: 300px; }
.caption { color: var(--muted); font-size: 12.5px; margin: 6px 0 0; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
thead th { background: var(--panel); font-weight: 600; }
table.facts th { color: var(--muted); font-weight: 500; width: 200px; }
td.num, th.num { text-align: right; }
.scroll { max-height: 360px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.scroll table { margin: 0; width: 100%; }
.partial { color: var(--warn); font-weight: 600; }
details { margin: 8px 0; }
summary { cursor: pointer; color: var(--accent); }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow: auto; font-size: 12px; }
code { font-size: 12.5px; }
a { color: var(--accent); }
`;

/** The page script: builds every chart from its JSON config, then marks the body with the count drawn. */
const PAGE_SCRIPT = `
(function () {
  var configs = JSON.parse(document.getElementById("chart-data").textContent);
  var visible = function (item) { return !(item.text || "").startsWith("_"); };
  var tipVisible = function (item) { return !((item.dataset && item.dataset.label) || "").startsWith("_"); };
  var drawn = 0;
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var cfg = configs[Number(canvas.dataset.chart)];
    try {
      cfg.options = cfg.options || {};
      cfg.options.plugins = cfg.options.plugins || {};
      var legend = cfg.options.plugins.legend = cfg.options.plugins.legend || {};
      legend.labels = Object.assign({ filter: visible, boxWidth: 14 }, legend.labels || {});
      var tooltip = cfg.options.plugins.tooltip = cfg.options.plugins.tooltip || {};
      tooltip.filter = tipVisible;
      new Chart(canvas, cfg);
      drawn++;
    } catch (e) {
      console.error("chart " + canvas.dataset.chart + " failed: " + (e && e.message ? e.message : e));
    }
  });
  document.body.setAttribute("data-charts-drawn", String(drawn));
})();
`;

/** The line every page carries, by which a later write knows the file is one of ours (util/atomic replaceOwnFile). */
export const GENERATOR_META = '<meta name="generator" content="clap-rl report">';

/** Report pages: .html files carrying GENERATOR_META. */
export const REPORT_PAGE: OwnFile = { what: "report", extensions: [".html", ".htm"], marker: GENERATOR_META };

/** Writes an HTML page to `path`: only to an .html file, and never over a file clap-rl did not write as a report. */
export function writePage(path: string, html: string): void {
  replaceOwnFile(path, html, REPORT_PAGE);
}

/** The whole page. `body` is HTML; `charts` supplies the configs its canvases refer to. */
export function page(title: string, body: string, charts: ChartSet): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${GENERATOR_META}
<meta name="clap-rl-charts" content="${charts.configs.length}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
<script>${chartJs()}</script>
<script id="chart-data" type="application/json">${scriptJson(charts.configs)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/** Shared chart options: no animation (the page is a static document), linear step axis, compact legend. */
export function lineOptions(xTitle: string, yTitle: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    parsing: false,
    normalized: true,
    interaction: { mode: "nearest", intersect: false },
    scales: {
      x: { type: "linear", title: { display: true, text: xTitle } },
      y: { title: { display: true, text: yTitle } },
    },
    plugins: { legend: { position: "bottom" } },
    elements: { point: { radius: 0 }, line: { borderWidth: 1.6 } },
    ...extra,
  };
}
