// node check_report.mjs REPORT.html SCREENSHOT.png [RESULTS.json]
// Without RESULTS.json: the fixture report (fixed expectations below). With it: any real report,
// its expected parts derived from the results it was made from.
// Opens the report in headless Chromium (Debian's /usr/bin/chromium through playwright-core)
// and fails on any page error, console error, dialog (alert), request to anything but the
// file itself, or a missing part of the report. Saves a full-page screenshot.
//
// Socket scenarios (reports/html.hpp): a scenario whose checks include a socket check
// (time_wait_*, states_*, time_wait_cleared_*, probe_failures_*) and none about detection time
// (detected_within/after) shows, in each judged cell of its overview, what its first socket check
// measured (probe failures only when nothing else is checked: "TIME_WAIT peak 15000",
// "CLOSE_WAIT 200 (server)"), never "never". The expected
// headline is derived here from the results themselves.
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [reportPath, screenshotPath, resultsPath] = process.argv.slice(2);
if (!reportPath || !screenshotPath) {
  console.error('usage: node check_report.mjs REPORT.html SCREENSHOT.png');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const reportUrl = pathToFileURL(resolve(reportPath)).href;
const problems = [];
const passed = [];
function check(condition, what) {
  (condition ? passed : problems).push(what);
}

const SOCKET_KEY = /^(time_wait_(max|min)|states_(max|min)|time_wait_cleared_(after|within)|probe_failures_(max|min))$/;
const DETECTION_KEY = /^detected_(within|after)$/;
const checkKey = (check) => String(check).split(' ')[0];
function isSocketScenario(scenario) {
  const checks = (scenario.cells || []).flatMap((c) => (c.expectations || []).map((e) => checkKey(e.check)));
  return checks.some((k) => SOCKET_KEY.test(k)) && !checks.some((k) => DETECTION_KEY.test(k));
}
// A cell the overview shows by its measurements: runs, none errored, not all skipped.
function judged(cell) {
  const runs = cell.runs || [];
  return runs.length > 0 && !runs.some((r) => r.outcome === 'error') && runs.some((r) => r.outcome !== 'skipped');
}
// What the first socket check of the cell measured, as the overview must print it.
function expectedHeadline(cell) {
  const socketChecks = (cell.expectations || []).map((e) => e.check).filter((c) => SOCKET_KEY.test(checkKey(c)));
  // probe failures lead only when the cell checks nothing else about sockets
  const first = socketChecks.find((c) => !checkKey(c).startsWith('probe_failures')) || socketChecks[0];
  if (!first) return null;
  const key = checkKey(first);
  const hostMatch = first.match(/\(([^()]*)\)$/);
  const host = hostMatch ? hostMatch[1] : 'client';
  const suffix = host === 'client' ? '' : ` (${host})`;
  const runs = (cell.runs || []).filter((r) => r.outcome === 'detected' || r.outcome === 'undetected');
  const range = (values) => {
    const lo = Math.min(...values), hi = Math.max(...values);
    return lo === hi ? `${lo}` : `${lo}\u2013${hi}`;
  };
  if (key.startsWith('probe_failures')) {
    return { text: 'probe failures ' + range(runs.map((r) => Object.values(r.probes?.failed || {}).reduce((a, b) => a + b, 0))) };
  }
  const hosts = runs.map((r) => r.sockets?.[host]).filter((h) => h && (!h.census || h.census.samples > 0));
  if (hosts.length === 0) return { text: `no census of ${host}` };
  if (key.startsWith('time_wait_cleared')) return { pattern: /^(cleared |not cleared|no TIME_WAIT)/ };
  const state = key.startsWith('states') ? first.split(' ')[1] : 'TIME_WAIT';
  const label = key.startsWith('states') ? state : 'TIME_WAIT peak';
  return { text: `${label} ${range(hosts.map((h) => h.peak?.[state] ?? 0))}${suffix}` };
}
// Checks every scenario's overview against the results: socket scenarios show their headline in
// each judged cell and no "never"; the others show no socket metric.
function checkSocketViews(results, views) {
  (results.scenarios || []).forEach((scenario, i) => {
    const view = views.find((v) => v.id === `s${i}`);
    if (!view) return check(false, `section s${i} present`);
    const name = JSON.stringify(scenario.name);
    if (!isSocketScenario(scenario)) {
      check(!view.socketsView && view.items.every((item) => item.metrics.length === 0),
            `${name}: detection view, no socket metrics`);
      return;
    }
    check(view.socketsView, `${name}: shown by its sockets`);
    const problems = [];
    (scenario.cells || []).forEach((cell, j) => {
      if (!judged(cell)) return;
      const item = view.items.find((it) => it.cell === j);
      const want = expectedHeadline(cell);
      if (!item) return problems.push(`cell ${j} missing from the overview`);
      // The kernel model's line ("model never": nothing predicts a detection) is not the headline.
      if (/\bnever\b/.test(item.text.replace(/model never.*$/s, ''))) problems.push(`cell ${j} says "never"`);
      const ok = want.text !== undefined ? item.headline === want.text : want.pattern.test(item.headline);
      if (!ok) problems.push(`cell ${j}: "${item.headline}", expected ${want.text !== undefined ? `"${want.text}"` : want.pattern}`);
    });
    check(problems.length === 0, `${name}: overview cells show their socket metrics${problems.length ? ` (${problems.join('; ')})` : ''}`);
  });
}

const userDataDir = mkdtempSync(join(tmpdir(), 'sockchaos-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('dialog', async (dialog) => {
    problems.push(`dialog fired (${dialog.type()}): ${dialog.message()}`);
    await dialog.dismiss();
  });
  const foreignRequests = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url === reportUrl || url.startsWith(reportUrl + '#')) return route.continue();
    foreignRequests.push(url);
    return route.abort();
  });

  await page.goto(reportUrl, { waitUntil: 'load' });
  await page.waitForSelector('html[data-report-ready="1"]', { timeout: 10000 });

  const facts = await page.evaluate(() => {
    const q = (s) => document.querySelectorAll(s);
    const headings = Array.from(q('section.scenario h2')).map((h) => h.textContent);
    return {
      summary: !!document.getElementById('summary'),
      summaryText: document.getElementById('summary')?.textContent || '',
      heatmaps: q('table.heatmap, svg.heatmap').length,
      heatmapCells: q('table.heatmap td.hm').length,
      detectionHeatmapCells: q('section.scenario:not(.sockets-view) table.heatmap td.hm').length,
      undetectedCells: q('section.scenario:not(.sockets-view) table.heatmap td.hm.o-undetected').length,
      failedHeatmapCells: q('section.scenario:not(.sockets-view) table.heatmap td.hm.exp-failed').length,
      socketHeatmapValues: Array.from(q('section.sockets-view table.heatmap td.hm .v.sock-metric')).map((e) => e.textContent),
      socketHeatmapSubs: Array.from(q('section.sockets-view table.heatmap td.hm .sub.sock-metric')).map((e) => e.textContent),
      socketTableHeadlines: Array.from(q('section.sockets-view table.matrix td.sock .bar-v.sock-metric')).map((e) => e.textContent),
      views: Array.from(q('section.scenario')).map((section) => {
        const items = [];
        const add = (element, link, headline) => {
          const match = link && (link.getAttribute('href') || '').match(/-c(\d+)$/);
          items.push({ cell: match ? Number(match[1]) : -1, text: element.textContent,
                       headline: headline ? headline.textContent : '',
                       metrics: Array.from(element.querySelectorAll('.sock-metric')).map((m) => m.textContent) });
        };
        section.querySelectorAll('table.heatmap td.hm:not(.empty)').forEach((td) =>
          add(td, td.querySelector('a'), td.querySelector('.v')));
        section.querySelectorAll('table.matrix tbody tr').forEach((tr) =>
          add(tr, tr.querySelector('a'), tr.querySelector('.bar-v.sock-metric')));
        section.querySelectorAll('a.card').forEach((card) => add(card, card, card.querySelector('.card-big')));
        return { id: section.id, socketsView: section.classList.contains('sockets-view'), items };
      }),
      heatmapTitles: Array.from(q('table.heatmap td.hm')).every((td) => td.title.length > 0),
      sortableTables: q('table.sortable').length,
      timelines: q('svg.timeline').length,
      timelinePaths: q('svg.timeline .series path').length,
      cells: q('details.cell').length,
      probeCharts: q('svg.probe-chart').length,
      probeScatter: q('svg.probe-scatter').length,
      ladders: q('svg.ladder').length,
      ladderArrows: q('svg.ladder g.pk').length,
      tcpInfoCharts: q('svg.tcpinfo').length,
      modelTables: q('table.models').length,
      modelColumns: q('table.matrix th.model-col').length,
      matrixTables: q('table.matrix').length,
      phaseRows: q('table.phases tbody tr').length,
      headings,
      images: document.images.length,
      scripts: q('script').length,
      handlers: Array.from(q('*')).filter((el) =>
        Array.from(el.attributes).some((a) => a.name.startsWith('on'))).length,
      svgsInjected: q('svg:not(.chart)').length,
      boldInjected: q('main b').length,
      errorLabel: Array.from(q('svg.timeline .error-label')).map((t) => t.textContent),
      title: document.title,
    };
  });

  check(facts.summary, '#summary present');
  if (resultsPath) {
    const results = JSON.parse(readFileSync(resultsPath, 'utf8'));
    const scenarios = results.scenarios || [];
    const cells = scenarios.flatMap((sc) => sc.cells || []);
    const withRuns = cells.filter((c) => (c.runs || []).length > 0).length;
    const twoAxis = scenarios.filter((sc) => (sc.matrix_axes || []).length === 2);
    const twoAxisCells = twoAxis.reduce((n, sc) => n + (sc.cells || []).length, 0);
    const probeCells = cells.filter((c) => (c.runs || []).some((r) => (r.probes?.series || []).length > 0)).length;
    check(facts.headings.length === scenarios.length, `a section per scenario (${facts.headings.length} of ${scenarios.length})`);
    check(facts.cells === cells.length, `a details block per cell (${facts.cells} of ${cells.length})`);
    check(facts.timelines === withRuns, `a timeline per cell with runs (${facts.timelines} of ${withRuns})`);
    check(facts.timelinePaths > 0, `timelines have state lines (got ${facts.timelinePaths})`);
    check(facts.heatmaps === twoAxis.length, `a heatmap per two-axis scenario (${facts.heatmaps} of ${twoAxis.length})`);
    check(facts.heatmapCells === twoAxisCells, `heatmap cells (${facts.heatmapCells} of ${twoAxisCells})`);
    check(facts.heatmapTitles, 'every heatmap cell has a hover title');
    checkSocketViews(results, facts.views);
    check(facts.probeCharts >= probeCells, `probe charts for probe cells (${facts.probeCharts} for ${probeCells})`);
    // Evidence (issue 11): the kernel's model, the packet ladder and the tcp_info chart.
    const allRuns = cells.flatMap((c) => c.runs || []);
    const modelled = allRuns.some((r) => r.model);
    check(!modelled || facts.modelTables > 0, `model tables for modelled runs (got ${facts.modelTables})`);
    check(facts.modelColumns === facts.matrixTables, `a model column in every matrix table (${facts.modelColumns} of ${facts.matrixTables})`);
    const withPackets = allRuns.some((r) => (r.timeline || []).some((e) => e.event === 'packet'));
    check(!withPackets || (facts.ladders > 0 && facts.ladderArrows > 0), `packet ladders (got ${facts.ladders}, ${facts.ladderArrows} arrows)`);
    const withTcpInfo = allRuns.some((r) => (r.tcp_info || []).length > 0);
    check(!withTcpInfo || facts.tcpInfoCharts > 0, `tcp_info charts (got ${facts.tcpInfoCharts})`);
    check(facts.images === 0 && facts.handlers === 0, 'no injected images or handlers');
    check(facts.scripts === 2, `only the report's own 2 scripts (got ${facts.scripts})`);
    const failed = results.summary?.expectations_failed ?? 0;
    check(failed === 0 ? /all expectations held/.test(facts.summaryText) : /failed/.test(facts.summaryText),
          'summary banner agrees with the results');
    check(foreignRequests.length === 0, `no request besides the file (got ${foreignRequests.join(', ')})`);
    await page.evaluate(() => document.querySelectorAll('details.cell').forEach((d) => { d.open = true; }));
    await page.screenshot({ path: screenshotPath, fullPage: false });
    passed.push(`screenshot saved to ${screenshotPath}`);
    throw null;  // done: skip the fixture's checks
  }
  check(/expectations failed/.test(facts.summaryText), 'summary lists failed expectations');
  check(facts.heatmaps === 2, `two heatmaps, detection and sockets (got ${facts.heatmaps})`);
  check(facts.detectionHeatmapCells === 8, `detection heatmap has 4x2 cells (got ${facts.detectionHeatmapCells})`);
  check(facts.undetectedCells === 2, `2 undetected heatmap cells (got ${facts.undetectedCells})`);
  check(facts.failedHeatmapCells === 1, `1 heatmap cell with a failed expectation (got ${facts.failedHeatmapCells})`);
  check(facts.heatmapTitles, 'every heatmap cell has a hover title');
  check(facts.sortableTables >= 2, `sortable matrix tables present (got ${facts.sortableTables})`);
  check(facts.timelines === 16, `a timeline per cell with runs (got ${facts.timelines} of ${facts.cells} cells)`);
  check(facts.timelinePaths > 10, `timelines have state lines (got ${facts.timelinePaths})`);
  check(facts.errorLabel.some((t) => t === 'ETIMEDOUT after 2208.4 ms'), 'client error annotated "ETIMEDOUT after 2208.4 ms"');
  check(facts.probeCharts === 2 && facts.probeScatter >= 1, `probe charts (got ${facts.probeCharts} + ${facts.probeScatter} scatter)`);
  check(facts.phaseRows === 3, `request phases table has before/during/after (got ${facts.phaseRows})`);
  check(facts.modelColumns === facts.matrixTables, `a model column in every matrix table (${facts.modelColumns} of ${facts.matrixTables})`);
  check(facts.ladders === 1 && facts.ladderArrows === 6, `one packet ladder of 6 arrows (got ${facts.ladders}, ${facts.ladderArrows})`);
  check(facts.tcpInfoCharts === 1, `one tcp_info chart (got ${facts.tcpInfoCharts})`);
  check(facts.modelTables === 1, `one model table (got ${facts.modelTables})`);
  // The socket scenarios of the fixture: the fin-timeout heatmap and the probe table.
  check(JSON.stringify(facts.socketHeatmapValues.slice().sort()) ===
        JSON.stringify(['TIME_WAIT peak 0', 'TIME_WAIT peak 0', 'TIME_WAIT peak 10', 'TIME_WAIT peak 10']),
        `socket heatmap cells show TIME_WAIT peaks (got ${JSON.stringify(facts.socketHeatmapValues)})`);
  check(['cleared 60.4 s', 'cleared 61.4 s', 'FIN_WAIT2 10', 'CLOSE_WAIT 10 (server)', 'probe failures 0']
        .every((t) => facts.socketHeatmapSubs.includes(t)),
        `socket heatmap cells show cleared times and states (got ${JSON.stringify(facts.socketHeatmapSubs)})`);
  check(JSON.stringify(facts.socketTableHeadlines) === JSON.stringify(['TIME_WAIT peak 28231', 'TIME_WAIT peak 0']),
        `probe table shows TIME_WAIT peaks (got ${JSON.stringify(facts.socketTableHeadlines)})`);
  checkSocketViews(JSON.parse(readFileSync(new URL('./fixture_results.json', import.meta.url), 'utf8')), facts.views);
  check(facts.headings.includes('<img src=x onerror=alert(1)>'), 'XSS scenario name shown as text');
  check(facts.images === 0, `no <img> element injected (got ${facts.images})`);
  check(facts.scripts === 2, `only the report's own 2 scripts (got ${facts.scripts})`);
  check(facts.handlers === 0, `no inline event handler attributes (got ${facts.handlers})`);
  check(facts.svgsInjected === 0, `no injected <svg> (got ${facts.svgsInjected})`);
  check(facts.boldInjected === 0, `no injected <b> (got ${facts.boldInjected})`);
  check(/failed/.test(facts.title), `script ran and read the embedded JSON (title "${facts.title}")`);

  // Interactions: sorting, heatmap link opens the cell.
  const sortState = await page.evaluate(() => {
    const table = document.querySelector('table.matrix.sortable');
    const header = table.tHead.querySelector('th.det-col');
    header.click();
    const first = table.tBodies[0].rows[0].cells[0].textContent;
    header.click();
    return { sort: header.getAttribute('aria-sort'), first,
             after: table.tBodies[0].rows[0].cells[0].textContent };
  });
  check(sortState.sort === 'descending' && sortState.first !== sortState.after,
        `clicking a header sorts (${JSON.stringify(sortState)})`);
  const opened = await page.evaluate(() => {
    const link = document.querySelector('table.heatmap td.hm.o-detected a');
    const target = document.getElementById(link.getAttribute('href').slice(1));
    target.open = false;
    link.click();
    return new Promise((done) => setTimeout(() => done(target.open), 100));
  });
  check(opened, 'clicking a heatmap cell opens its details');
  await page.evaluate(() => { window.scrollTo(0, 0); history.replaceState(null, '', location.pathname); });

  check(foreignRequests.length === 0, `no request besides the file (got ${foreignRequests.join(', ')})`);
  await page.screenshot({ path: screenshotPath, fullPage: true });
  passed.push(`screenshot saved to ${screenshotPath}`);
} catch (error) {
  if (error !== null) problems.push(`exception: ${error.stack || error}`);
} finally {
  if (context) await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}

for (const line of passed) console.log(`ok    ${line}`);
for (const line of problems) console.log(`FAIL  ${line}`);
console.log(problems.length ? `${problems.length} problem(s)` : `all ${passed.length} checks passed`);
process.exit(problems.length ? 1 : 0);
