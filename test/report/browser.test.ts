/**
 * End to end: train a tiny C-LAP run on a small hopper dataset through the CLI, write its report and a comparison
 * page, and open both in headless Chromium (Debian `chromium` driven by playwright-core): every chart must have
 * been drawn, with data, and the console must stay free of errors. Skips when Chromium is not installed.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { fakeRun, writeHopperDataset } from "./fixtures.js";

const CHROMIUM = "/usr/bin/chromium";
const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "clap-browser-"));
after(() => rmSync(root, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface PageCheck {
  expected: number;
  drawn: number;
  canvases: { painted: number; area: number; points: number }[];
  problems: string[];
}

/**
 * Runs in the page: per canvas, the painted (non-transparent) pixels and the data elements Chart.js laid out, plus
 * the page's own chart counts. A string, because the project compiles without the DOM type library.
 */
const PAGE_PROBE = `(() => {
  const canvases = [...document.querySelectorAll("canvas")].map((c) => {
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
    const chart = Chart.getChart(c);
    let points = 0;
    if (chart) chart.data.datasets.forEach((_, i) => (points += chart.getDatasetMeta(i).data.length));
    return { painted, area: c.width * c.height, points };
  });
  return {
    expected: Number(document.querySelector('meta[name="clap-rl-charts"]').getAttribute("content")),
    drawn: Number(document.body.dataset.chartsDrawn),
    canvases,
  };
})()`;

async function openInChromium(file: string): Promise<PageCheck> {
  const { chromium } = await import("playwright-core");
  const userData = mkdtempSync(join(root, "chromium-profile-"));
  const context = await chromium.launchPersistentContext(userData, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
  });
  const problems: string[] = [];
  try {
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("request", (r) => {
      if (!r.url().startsWith("file:")) problems.push(`network request: ${r.url()}`);
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    const result = (await page.evaluate(PAGE_PROBE)) as Omit<PageCheck, "problems">;
    return { ...result, problems };
  } finally {
    await context.close();
    rmSync(userData, { recursive: true, force: true });
  }
}

function assertRendered(check: PageCheck, expected: number, what: string): void {
  assert.deepEqual(check.problems, [], `${what}: console errors or network use`);
  assert.equal(check.expected, expected, `${what}: charts on the page`);
  assert.equal(check.drawn, expected, `${what}: charts drawn`);
  assert.equal(check.canvases.length, expected, `${what}: canvases`);
  check.canvases.forEach((c, i) => {
    assert.ok(c.area > 0, `${what}: canvas ${i} has no size`);
    // Axes alone paint a few percent; data lines and bands add to it. Require both pixels and laid-out points.
    assert.ok(c.painted > 0.02 * c.area, `${what}: canvas ${i} painted ${c.painted} of ${c.area} pixels`);
    assert.ok(c.points > 0, `${what}: canvas ${i} has no data points`);
  });
}

test("report.html and the comparison page render every chart in headless Chromium", { skip: existsSync(CHROMIUM) ? false : `Chromium not installed at ${CHROMIUM}` }, async () => {
  const data = join(root, "hopper-medium-sine.hdf5");
  await writeHopperDataset(data, 600, 0);
  const run = join(root, "run");
  const trained = cli("train", "--dataset", data, "--env", "hopper", "--preset", "tiny", "--out", run, "--quiet");
  assert.equal(trained.code, 0, trained.err);

  const rep = cli("report", run);
  assert.equal(rep.code, 0, rep.err);
  // Score, value, model losses, agent losses, and one action-check chart per hopper action dimension.
  assert.match(rep.out, /report\.html \(7 charts\)/);
  const html = readFileSync(join(run, "report.html"), "utf8");
  assert.match(html, /flight and stance phases from foot–floor contacts/);
  assert.match(html, /not comparable with published numbers/);
  assert.ok(!/<script[^>]+src=/.test(html) && !/<link[^>]+href=/.test(html), "self-contained");
  assertRendered(await openInChromium(join(run, "report.html")), 7, "run report");

  // Re-rendered without the dataset: the cached references and action check keep every chart.
  rmSync(data);
  const again = cli("report", run);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /\(7 charts\)/);
  assert.match(readFileSync(join(run, "report.html"), "utf8"), /is no longer there; references from the cache/);

  const partial = fakeRun(join(root, "partial"), { dataset: "hopper-medium-sine", seed: 1, scores: [1, 2], status: "running", steps: 50 });
  const cmp = cli("report", run, partial, "--out", "compare.html");
  assert.equal(cmp.code, 0, cmp.err);
  assertRendered(await openInChromium(join(root, "compare.html")), 1, "comparison");
});
