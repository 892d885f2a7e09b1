// Opens slim's HTML reports in Debian's headless chromium and checks what a reader gets:
// no console error, no request but the file itself, treemap areas that match the owners'
// bytes, findings that zoom to their files, keyboard navigation. Writes a screenshot of each
// report and prints one JSON line of timings.
//
//   node report.mjs SCREENSHOT_DIR KIND=FILE.html...   (KIND: analyze, check, diff, rewrite)
//
// Exits 1 with one line per failure.
import puppeteer from "puppeteer-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [shots, ...reports] = process.argv.slice(2);
if (!shots || !reports.length) {
  console.error("usage: node report.mjs SCREENSHOT_DIR KIND=FILE.html...");
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });
const failures = [];
const fail = (kind, what) => failures.push(`${kind}: ${what}`);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "slim-chromium-"));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`],
});
const timings = {};

try {
  for (const spec of reports) {
    const [kind, file] = spec.split("=");
    const url = pathToFileURL(path.resolve(file)).href;
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const errors = [];
    const requests = [];
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("requestfailed", (r) => { if (r.url() !== url) errors.push("request failed: " + r.url()); });
    page.on("request", (r) => requests.push(r.url()));
    const start = Date.now();
    await page.goto(url, { waitUntil: "load" });
    await page.waitForSelector("html[data-ready=true]", { timeout: 10000 }).catch(() => fail(kind, "the page never finished drawing"));
    const ready = Date.now() - start;
    timings[kind] = { bytes: fs.statSync(file).size, ready_ms: ready };
    const data = await page.evaluate(() => JSON.parse(document.getElementById("slim-data").textContent));
    await page.screenshot({ path: path.join(shots, `${kind}.png`), fullPage: kind !== "analyze" && kind !== "check" && kind !== "example" });

    const analysis = kind === "analyze" || kind === "check" || kind === "example";
    if (analysis) await treemap(page, kind, data.analysis);
    if (analysis) await layerClick(page, kind, data.analysis);
    if (kind === "check") {
      const verdict = await page.$eval(".verdict", (e) => e.textContent);
      if (!verdict.startsWith(data.check.passed ? "PASSED" : "FAILED")) fail(kind, `verdict ${JSON.stringify(verdict)} is not the model's`);
      const rows = await page.$$eval("section table tbody tr", (r) => r.length);
      if (rows < data.check.checks.length) fail(kind, "a check is missing from the table");
    }
    if (kind === "diff") {
      const owners = await page.$$eval(".pairs", (p) => p[0].querySelectorAll(".pair:not(.head)").length);
      if (owners !== data.diff.owners.length) fail(kind, `${owners} owner rows for ${data.diff.owners.length} changed owners`);
      const layers = await page.$$eval(".pairs", (p) => p[1].querySelectorAll(".pair:not(.head)").length);
      if (layers !== data.diff.layers.length) fail(kind, `${layers} layer rows for ${data.diff.layers.length} layers`);
    }
    if (kind === "rewrite") {
      const rows = await page.$$eval("table tbody tr", (r) => r.length);
      if (rows !== data.rewrite.changes.length) fail(kind, `${rows} change rows for ${data.rewrite.changes.length} changes`);
    }
    await page.emulateMediaType("print");
    await page.screenshot({ path: path.join(shots, `${kind}-print.png`), fullPage: true });
    await page.emulateMediaType(null);

    for (const e of errors) fail(kind, "console: " + e);
    for (const r of requests) if (r !== url) fail(kind, "request to " + r);
    await page.close();
  }
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}

async function tiles(page) {
  return page.$$eval('.treemap .tile[data-depth="0"]', (ts) => ts.map((t) => {
    const r = t.getBoundingClientRect();
    return { key: t.dataset.key, level: t.dataset.level, area: r.width * r.height };
  }));
}

async function crumb(page) {
  return page.$eval(".crumbs strong", (e) => e.textContent);
}

// Each top-level rectangle's share of the box against the share of the bytes, within 1 %.
function proportional(kind, where, shown, expected) {
  const total = Object.values(expected).reduce((s, b) => s + b, 0);
  const area = shown.reduce((s, t) => s + t.area, 0);
  for (const t of shown) {
    if (!(t.key in expected)) continue;
    const want = expected[t.key] / total, got = t.area / area;
    if (Math.abs(got - want) > 0.01 * want) fail(kind, `${where}: ${t.key} covers ${(got * 100).toFixed(3)}% of the map for ${(want * 100).toFixed(3)}% of the bytes`);
  }
}

async function treemap(page, kind, a) {
  // Top level: one rectangle per owner kind, sized by the owners' bytes (from the owner table,
  // not from the treemap's own numbers).
  const byKind = {};
  for (const o of a.owners) byKind[o.kind] = (byKind[o.kind] || 0) + o.bytes;
  const top = await tiles(page);
  const drawn = Object.entries(byKind).filter(([, b]) => b > 0).length;
  if (top.length !== drawn) fail(kind, `${top.length} top-level rectangles for ${drawn} owner kinds`);
  proportional(kind, "top level", top, byKind);

  // Keyboard: Tab reaches a rectangle, arrows move between them, Enter zooms, Escape comes back.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  let tabs = 0;
  while (tabs++ < 40 && !(await page.evaluate(() => document.activeElement.classList.contains("tile")))) await page.keyboard.press("Tab");
  if (tabs >= 40) fail(kind, "Tab never reaches the treemap");
  const biggest = [...top].sort((x, y) => y.area - x.area)[0];
  const focused = await page.evaluate(() => document.activeElement.dataset.key);
  if (top.length > 1) {
    await page.keyboard.press("ArrowRight");
    const moved = await page.evaluate(() => document.activeElement.dataset.key);
    if (moved === focused) fail(kind, "ArrowRight does not move to the next rectangle");
    await page.keyboard.press("ArrowLeft");
  }
  await page.keyboard.press("Enter");
  if ((await crumb(page)) !== focused) fail(kind, `Enter on ${focused} zooms to ${await crumb(page)}`);
  // Inside a kind: owners (not in a group) sized by their bytes.
  if (focused === biggest.key) {
    const owners = {};
    for (const o of a.owners) if (o.kind === focused && !o.group) owners[o.name + (o.unrecorded ? " (unrecorded files)" : "")] = (owners[o.name] || 0) + o.bytes;
    const inside = (await tiles(page)).filter((t) => t.level === "owner");
    if (!inside.length) fail(kind, `no owner rectangle inside ${focused}`);
    const expected = Object.fromEntries(inside.map((t) => [t.key, owners[t.key]]).filter(([, b]) => b));
    proportional(kind, `inside ${focused}`, inside, expected);
  }
  await page.screenshot({ path: path.join(shots, `${kind}-zoomed.png`) });
  await page.keyboard.press("Escape");
  if ((await crumb(page)) !== "whole image") fail(kind, "Escape does not zoom back out");

  // A finding with paths: selecting it zooms in and marks rectangles holding its files.
  const f = [...a.findings].sort((x, y) => y.bytes_saved - x.bytes_saved).find((f) => f.evidence.paths.length);
  if (!f) return;
  await page.click(`.finding[data-id="${f.id}"] .finding-head`);
  const where = await crumb(page);
  if (where === "whole image") fail(kind, `selecting ${f.id} does not zoom`);
  const hits = await page.$$eval(".treemap .tile.hit:not(.frame)", (ts) => ts.map((t) => t.dataset.path || ""));
  const related = (p) => f.evidence.paths.some((e) => p === e || p.startsWith(e + "/") || e.startsWith(p + "/"));
  if (!hits.length) fail(kind, `selecting ${f.id} marks no rectangle`);
  for (const p of hits) if (!related(p)) fail(kind, `selecting ${f.id} marks ${p}, which holds none of its paths`);
  await page.screenshot({ path: path.join(shots, `${kind}-finding.png`) });
  await page.click(`.finding[data-id="${f.id}"] .finding-head`);
}

// Selecting a layer shows what it added, from the model: its counts, the files it wrote that a
// later layer hid, and only its own files marked in the treemap; selecting it again closes it.
async function layerClick(page, kind, a) {
  const l = [...a.layers].sort((x, y) => y.wasted_bytes - x.wasted_bytes || y.file_bytes - x.file_bytes)[0];
  const button = `.layers button.layer[data-layer="${l.index}"]`;
  await page.click(button);
  if ((await page.$eval(button, (b) => b.getAttribute("aria-expanded"))) !== "true") fail(kind, `layer ${l.index} is not marked open`);
  const detail = await page.$eval(".layer-detail", (d) => d.textContent);
  if (!detail.startsWith("Layer " + l.index)) fail(kind, `layer ${l.index} opens ${JSON.stringify(detail.slice(0, 40))}`);
  if (!detail.includes(`${l.files_added} / ${l.files_changed} / ${l.files_removed}`)) fail(kind, `layer ${l.index}: the added/changed/removed counts are not the model's`);
  for (const w of a.wasted_files.filter((w) => w.added_in === l.index)) {
    if (!detail.includes(w.path)) fail(kind, `layer ${l.index}: the hidden file ${w.path} is not listed`);
  }
  const own = new Set();
  const walk = (n) => { if (n.layer === l.index && n.path) own.add(n.path); (n.children || []).forEach(walk); };
  if (a.treemap) walk(a.treemap.root || a.treemap);
  const hits = await page.$$eval('.treemap .tile.hit[data-level="file"]', (ts) => ts.map((t) => t.dataset.path));
  for (const p of hits) if (!own.has(p)) fail(kind, `layer ${l.index} marks ${p}, which another layer wrote`);
  await page.screenshot({ path: path.join(shots, `${kind}-layer.png`) });
  await page.click(button);
  if ((await page.$eval(".layer-detail", (d) => d.childElementCount)) !== 0) fail(kind, `selecting layer ${l.index} again does not close it`);
}

console.log(JSON.stringify(timings));
if (failures.length) {
  for (const f of failures) console.error("FAIL " + f);
  process.exit(1);
}
