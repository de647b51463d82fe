// Inline CSS and JavaScript of the HTML report (kept here, not in files read at run time, so
// the report needs nothing but the binary). The script only sorts tables, opens <details> on
// anchors and filters failed cells; every chart is plain SVG that works without it.
#pragma once

namespace sockchaos::reports::html_assets {

inline constexpr const char* kStyle = R"CSS(
:root{--fg:#1d232a;--muted:#6a737d;--line:#d8dee4;--bg:#f6f8fa;--card:#fff;--bad:#c62828;--good:#2e7d32;--warn:#b26a00;--accent:#0b5cad}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;align-items:center;justify-content:space-between;gap:1em;padding:.6em 1.5em;background:#1d232a;color:#fff;position:sticky;top:0;z-index:5}
header h1{font-size:1.15em;margin:0;font-weight:600;letter-spacing:.02em}
.controls{display:flex;gap:.6em;align-items:center;font-size:.9em}
.controls button{background:#2f3943;color:#fff;border:1px solid #46525e;border-radius:4px;padding:.25em .7em;cursor:pointer}
.controls button:hover{background:#3c4855}
main{max-width:1280px;margin:0 auto;padding:1em 1.5em 3em}
footer{color:var(--muted);text-align:center;font-size:.85em;padding:1em}
h2{font-size:1.35em;margin:0 0 .2em;word-break:break-word}
h5{margin:1.1em 0 .3em;font-size:.95em;color:#3a4550;text-transform:uppercase;letter-spacing:.04em}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
pre{background:#f0f3f6;border:1px solid var(--line);border-radius:4px;padding:.5em .7em;overflow:auto;max-height:24em;white-space:pre-wrap;word-break:break-word}
a{color:var(--accent)}
.muted{color:var(--muted)}.bad{color:var(--bad);font-weight:600}.good{color:var(--good)}
.summary,.scenario{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1em 1.2em;margin:0 0 1.2em}
.banner{font-size:1.15em;font-weight:600;padding:.45em .8em;border-radius:6px;margin-bottom:.8em}
.banner.ok{background:#e6f4ea;color:var(--good)}.banner.bad{background:#fdecea;color:var(--bad)}.banner.warn{background:#fff4e0;color:var(--warn)}
.stats{display:flex;flex-wrap:wrap;gap:.6em;margin-bottom:.6em}
.stat{border:1px solid var(--line);border-radius:6px;padding:.4em .9em;min-width:7.5em;display:flex;flex-direction:column}
.stat-v{font-size:1.5em;font-weight:650}.stat-l{color:var(--muted);font-size:.85em}
.stat.ok .stat-v{color:var(--good)}.stat.bad .stat-v{color:var(--bad)}
dl.facts{display:flex;flex-wrap:wrap;gap:.3em 1.6em;margin:.4em 0}
dl.facts div{display:flex;gap:.4em;align-items:baseline}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;font-weight:500}
table{border-collapse:collapse;margin:.5em 0}
th,td{padding:.25em .6em;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:#f0f3f6;font-weight:600;font-size:.9em}
caption{text-align:left;color:var(--muted);font-size:.85em;padding-bottom:.2em}
table.toc{width:100%}table.toc td:not(:first-child),table.toc th:not(:first-child){text-align:right}
tr.exp-failed td:first-child{box-shadow:inset 3px 0 0 var(--bad)}
.meta{color:var(--muted);margin:.1em 0 .4em}.description{margin:.3em 0 .6em;max-width:60em}
p.axes{margin:.3em 0;color:var(--muted)}
.badge{display:inline-block;padding:.05em .55em;border-radius:10px;font-size:.82em;font-weight:600;border:1px solid transparent;white-space:nowrap}
.badge.o-detected{background:#e6f4ea;color:var(--good);border-color:#b7dfc2}
.badge.o-undetected{background:#eceff1;color:#455a64;border-color:#cfd8dc}
.badge.o-error{background:#3c2a4d;color:#fff}
.badge.o-mixed{background:#fff4e0;color:var(--warn);border-color:#f3d39a}
.badge.o-skipped,.badge.o-none{background:#fafafa;color:var(--muted);border-color:var(--line)}
.exp{font-size:.85em;font-weight:600;white-space:nowrap}.exp.ok{color:var(--good)}.exp.bad{color:var(--bad)}.exp.none{color:var(--muted);font-weight:400}
.heatmap-wrap{overflow-x:auto;margin:.6em 0}
table.heatmap{border-collapse:separate;border-spacing:4px}
table.heatmap th{background:none;border:none;font-size:.85em;color:#3a4550;text-align:center;white-space:nowrap}
table.heatmap tbody th{text-align:right}
table.heatmap th.corner{text-align:left;color:var(--muted);font-weight:500;line-height:1.2}
table.heatmap th.corner span{display:block}
td.hm{min-width:7.2em;height:3.4em;padding:0;border:1px solid rgba(0,0,0,.08);border-radius:5px;text-align:center;vertical-align:middle;position:relative}
td.hm a{display:flex;flex-direction:column;justify-content:center;height:100%;min-height:3.4em;color:inherit;text-decoration:none;padding:.2em .4em}
td.hm a:hover{outline:2px solid #1d232a;outline-offset:1px;border-radius:5px}
td.hm .v{font-weight:650;font-size:1.05em}td.hm .sub{font-size:.75em;opacity:.85}
td.hm.o-undetected,.swatch.hatched{background:repeating-linear-gradient(45deg,#eceff1 0 6px,#cfd8dc 6px 12px);color:#455a64}
td.hm.o-error,.swatch.errored{background:#3c2a4d;color:#fff}
td.hm.o-skipped,td.hm.o-none,td.hm.empty{background:#fafafa;color:var(--muted)}
td.hm.sock{background:#eef2f6;color:#1d232a}td.hm.sock .v{font-size:.95em}
td.hm.exp-failed{box-shadow:0 0 0 3px var(--bad)}
td.hm .mark{position:absolute;top:1px;right:4px;color:#fff;background:var(--bad);border-radius:8px;font-size:.72em;line-height:1.35em;width:1.35em;font-weight:700}
.legend-row{display:flex;flex-wrap:wrap;gap:.6em 1.4em;align-items:center;font-size:.85em;margin:.4em 0 .8em;color:#3a4550}
.scale{display:inline-flex;align-items:center;gap:.4em}.gradient{display:inline-block;width:160px;height:12px;border-radius:3px;border:1px solid rgba(0,0,0,.15)}
.key{display:inline-flex;align-items:center;gap:.35em}
.swatch{display:inline-block;width:18px;height:12px;border-radius:3px;border:1px solid rgba(0,0,0,.15)}
.swatch.failed-exp{background:#fff;box-shadow:0 0 0 2px var(--bad)}
table.matrix{width:100%}table.matrix td{vertical-align:middle}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th::after{content:" \2195";color:#aab4be;font-size:.8em}
table.sortable th[aria-sort=ascending]::after{content:" \25B2";color:#3a4550}
table.sortable th[aria-sort=descending]::after{content:" \25BC";color:#3a4550}
td .bar{display:inline-block;height:.8em;border-radius:2px;vertical-align:middle;max-width:calc(100% - 6.5em)}
.det-col{min-width:16em}
td .bar-v{margin-left:.4em;font-variant-numeric:tabular-nums;font-size:.9em}
td.sock .bar{max-width:calc(100% - 15em)}td.sock .bar-v{white-space:nowrap}td.sock .sock-more{display:block;color:var(--muted);font-size:.82em}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:.6em 0}
.card{display:flex;flex-direction:column;gap:.25em;border:1px solid var(--line);border-radius:8px;padding:.7em 1em;min-width:13em;color:inherit;text-decoration:none;background:#fbfcfd}
.card.exp-failed{border-color:var(--bad);box-shadow:0 0 0 1px var(--bad)}
.card-id{color:var(--muted);font-size:.85em}.card-big{font-size:1.5em;font-weight:650}.card-sub{color:#3a4550;font-size:.9em}.card-err{font-family:ui-monospace,monospace}
.scenario,details.cell{scroll-margin-top:3.2em}
details.cell{border:1px solid var(--line);border-radius:6px;margin:.4em 0;background:#fff}
details.cell.exp-failed{border-left:4px solid var(--bad)}
details.cell>summary{cursor:pointer;padding:.45em .7em;display:flex;flex-wrap:wrap;gap:.3em .8em;align-items:center;list-style:none}
details.cell>summary::before{content:"\25B8";color:var(--muted);width:.8em}
details.cell[open]>summary::before{content:"\25BE"}
details.cell>summary::-webkit-details-marker{display:none}
details.cell[open]>summary{border-bottom:1px solid var(--line);background:#fafbfc}
.cell-id{font-weight:600;word-break:break-all}.det{font-variant-numeric:tabular-nums}.err{font-family:ui-monospace,monospace;color:#6a1b9a}
.cell-body{padding:.4em 1em 1em}
table.params th{font-weight:500;color:var(--muted);font-family:ui-monospace,monospace;font-size:.88em}
ul.expectations{list-style:none;padding:0;margin:.5em 0}
ul.expectations li{display:flex;gap:.6em;align-items:baseline;padding:.15em 0}
ul.expectations li .icon{font-weight:700;width:1em}
ul.expectations li.pass .icon{color:var(--good)}ul.expectations li.fail .icon{color:var(--bad)}
ul.expectations li.fail code{color:var(--bad);font-weight:600}
.measured{color:var(--muted)}
tr.shown td{background:#f2f7fd}
svg.chart{width:100%;height:auto;display:block;max-width:1100px;font-family:system-ui,sans-serif}
svg .grid{stroke:#edf0f3;stroke-width:1;fill:none}
svg .frame{fill:none;stroke:#c4ccd4}
svg .tick{font-size:11px;fill:#5a6570}
svg .axis-label{font-size:11px;fill:#3a4550;font-weight:600}
svg .series path{fill:none;stroke-width:1.8;stroke-linejoin:round}
svg .fault rect,.fault-swatch{fill:#e53935;fill-opacity:.1}
svg .fault line{stroke:#e53935;stroke-width:1;stroke-dasharray:3 3}
svg .fault text{font-size:10.5px;fill:#b71c1c}
svg .error-line{stroke:#6a1b9a;stroke-width:2}
svg .error-label{font-size:12px;font-weight:700;fill:#6a1b9a}
svg .deadline line{stroke:#78909c;stroke-width:1.5;stroke-dasharray:5 3}
svg .deadline text{font-size:11px;fill:#546e7a}
svg path.events{fill:#78909c}
svg .legend text{font-size:11px;fill:#3a4550}
svg .empty,svg .note-svg{font-size:11px;fill:#8a949e}
svg path.failures{fill:#c0392b;fill-opacity:.55}
svg .dots path{fill:none;stroke-width:6;stroke-linecap:round}
svg .dots path.had-failures{stroke:#c62828;stroke-width:10}
svg .tw-line{fill:none;stroke:#ff7f0e;stroke-width:1.8;stroke-dasharray:5 3}
svg .p50-line{fill:none;stroke:#1f77b4;stroke-width:1.8}
svg .p99-line{fill:none;stroke:#d62728;stroke-width:1.8}
svg .tick.tw,svg .axis-label.tw{fill:#c25e00}
svg.ladder{max-width:900px}
svg .lanes line{stroke:#3a4550;stroke-width:2}
svg .lanes text{font-size:12px;font-weight:700;fill:#3a4550}
svg .pk path{fill:none;stroke-width:1.4;stroke:#78909c}
svg .pk text{font-size:10.5px;fill:#3a4550}
svg .pk text.pk-t{fill:#8a949e;font-variant-numeric:tabular-nums}
svg .pk-retrans path{stroke:#d62728;stroke-width:2}
svg .pk-retrans text{fill:#b71c1c}
svg .pk-probe path{stroke:#ff7f0e;stroke-width:2}
svg .pk-probe text{fill:#c25e00}
svg .pk-rst path{stroke:#6a1b9a;stroke-width:2}
svg .pk-rst text{fill:#6a1b9a}
svg .pk-ctl path{stroke:#1f77b4}
svg .axis-right text{font-size:11px;fill:#5a6570}
table.models{border-collapse:collapse;font-size:.88em;margin:.3em 0 .8em}
table.models th,table.models td{padding:.2em .6em;border-bottom:1px solid #edf0f3;text-align:left;vertical-align:top}
table.models tr.fail td{color:#b71c1c}
table.models details p{margin:.2em 0;color:var(--muted)}
ul.model-inputs{margin:.2em 0;padding-left:1.2em}
p.basis{margin:.3em 0}
.basis-label{font-weight:600}
td.model-col.off{color:#b71c1c}
.card-model,.hm .sub.model{font-size:.78em;opacity:.85;display:block}

.probe-charts{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
.probe-charts svg.probe-chart{flex:1 1 100%}.probe-charts svg.probe-scatter{flex:0 1 460px;max-width:480px}
table.phases td,table.phases th{text-align:right}table.phases th:first-child{text-align:left}
tr.phase-during{background:#fff6f5}
table.peaks td{text-align:right;font-variant-numeric:tabular-nums}
p.note{color:var(--muted);font-size:.82em;margin:.2em 0}p.note.bad-note{color:var(--warn)}
details.events-list>summary,details.output>summary{cursor:pointer;color:#3a4550;font-weight:600;margin:.6em 0 .2em}
table.events td:first-child{font-variant-numeric:tabular-nums;white-space:nowrap;text-align:right}
table.events tr.ev-fault td,table.events tr.ev-heal td{color:#b71c1c}
table.events tr.ev-client-error td{color:#6a1b9a;font-weight:600}
body.only-failed details.cell:not(.exp-failed):not(.o-error){display:none}
@media print{header{position:static}details.cell{break-inside:avoid}}
)CSS";

inline constexpr const char* kScript = R"JS(
(function () {
  'use strict';
  var data = {};
  try { data = JSON.parse(document.getElementById('sockchaos-data').textContent); } catch (e) { data = {}; }
  if (data.summary && data.summary.expectations_failed > 0) {
    document.title = '\u2717 ' + data.summary.expectations_failed + ' failed \u2013 ' + document.title;
  }

  function sortKey(row, column) {
    var cell = row.cells[column];
    if (!cell) return '';
    var raw = cell.getAttribute('data-sort');
    if (raw !== null && raw !== '' && !isNaN(parseFloat(raw))) return parseFloat(raw);
    return cell.textContent.trim();
  }
  function sortTable(table, column, header) {
    var ascending = header.getAttribute('aria-sort') !== 'ascending';
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute('aria-sort'); });
    header.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = sortKey(a, column), y = sortKey(b, column), order;
      if (typeof x === 'number' && typeof y === 'number') order = x - y;
      else order = String(x).localeCompare(String(y), undefined, { numeric: true });
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    if (!table.tHead || !table.tBodies.length) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.setAttribute('tabindex', '0');
      th.addEventListener('click', function () { sortTable(table, column, th); });
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter') sortTable(table, column, th); });
    });
  });

  function openFromHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    var target = document.getElementById(id);
    if (target && target.tagName === 'DETAILS') {
      target.open = true;
      target.scrollIntoView({ block: 'start' });
    }
  }
  window.addEventListener('hashchange', openFromHash);
  openFromHash();

  Array.prototype.forEach.call(document.querySelectorAll('[data-toggle-all]'), function (button) {
    button.addEventListener('click', function () {
      var open = button.getAttribute('data-toggle-all') === 'open';
      Array.prototype.forEach.call(document.querySelectorAll('details.cell'), function (d) { d.open = open; });
    });
  });
  var onlyFailed = document.getElementById('only-failed');
  if (onlyFailed) {
    onlyFailed.addEventListener('change', function () {
      document.body.classList.toggle('only-failed', onlyFailed.checked);
    });
  }
  document.documentElement.setAttribute('data-report-ready', '1');
})();
)JS";

}  // namespace sockchaos::reports::html_assets
