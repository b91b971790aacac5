// Adds a KPI chart's benchmark lines (industry figure, last year, baseline)
// and its milestones to the ECharts option that app.js builds. The server
// sends them in the chart's JSON as "benchmarks" (a name and one value per
// label) and "milestones" (one value per label, null where there is none).
(function () {
  'use strict';

  // Okabe-Ito colours beside app.js's blue values and orange target.
  var COLORS = ['#009E73', '#CC79A7', '#56B4E9', '#D55E00'];
  var COLOR_MILESTONE = '#E69F00';

  function add(spec, series, legend) {
    (spec.benchmarks || []).forEach(function (b, n) {
      var color = COLORS[n % COLORS.length];
      legend.push(b.name);
      series.push({
        name: b.name,
        type: 'line',
        data: b.values,
        symbol: 'none',
        connectNulls: false,
        lineStyle: { width: 1.5, color: color, type: 'dashed' },
        itemStyle: { color: color }
      });
    });

    if (spec.milestones) {
      legend.push('Milestones');
      series.push({
        name: 'Milestones',
        type: 'scatter',
        data: spec.milestones,
        symbol: 'diamond',
        symbolSize: 12,
        itemStyle: { color: COLOR_MILESTONE, borderColor: '#3b4450', borderWidth: 1 }
      });
    }
  }

  // tooltip returns the tooltip lines of period i: each benchmark's value
  // and the milestone due in it.
  function tooltip(spec, i, format, escapeHTML) {
    var html = '';
    (spec.benchmarks || []).forEach(function (b) {
      var v = b.values[i];
      if (v !== null && v !== undefined) {
        html += '<br>' + escapeHTML(b.name) + ': ' + escapeHTML(format(v));
      }
    });
    if (spec.milestones && spec.milestones[i] !== null && spec.milestones[i] !== undefined) {
      html += '<br>Milestone: ' + escapeHTML(format(spec.milestones[i]));
    }
    return html;
  }

  window.northstarReferenceLines = { add: add, tooltip: tooltip };
})();
