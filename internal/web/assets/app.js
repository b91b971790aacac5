// Draws the charts of a Northstar page with Apache ECharts. The server writes
// every chart's data into the JSON block #chart-data, and each element with a
// data-chart attribute names its chart there. The page has no inline script,
// so it works under a Content-Security-Policy that allows only 'self'.
(function () {
  'use strict';

  var MISSING = 'chart library not bundled: run scripts/assets.sh and rebuild';

  // Okabe-Ito colours, which people with the common colour-vision
  // deficiencies can tell apart.
  var COLOR_VALUE = '#0072B2';
  var COLOR_TARGET = '#E69F00';
  var COLOR_TEXT = '#3b4450';
  var COLOR_GRID = '#e1e5ea';

  var CURRENCIES = { USD: true, EUR: true, GBP: true };

  function readCharts() {
    var block = document.getElementById('chart-data');
    if (!block) {
      return {};
    }
    try {
      return JSON.parse(block.textContent).charts || {};
    } catch (err) {
      console.error('northstar: the chart data is not valid JSON', err);
      return {};
    }
  }

  function escapeHTML(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  // valueFormatter returns a function that formats a number in the KPI's
  // unit, as the server does: "$1,234.50", "12.5%", "1,234 users".
  function valueFormatter(unit) {
    var upper = (unit || '').toUpperCase();
    var plain = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

    if (CURRENCIES[upper]) {
      var whole = new Intl.NumberFormat('en-US', { style: 'currency', currency: upper, maximumFractionDigits: 0 });
      var cents = new Intl.NumberFormat('en-US', { style: 'currency', currency: upper, minimumFractionDigits: 2 });
      return function (v) {
        return Math.round(v * 100) % 100 === 0 ? whole.format(v) : cents.format(v);
      };
    }
    if (unit === '%' || upper === 'PERCENT') {
      return function (v) { return plain.format(v) + '%'; };
    }
    if (!unit) {
      return function (v) { return plain.format(v); };
    }
    return function (v) { return plain.format(v) + ' ' + unit; };
  }

  // splitPartial returns the values drawn solid (all but a partial last one)
  // and the dashed segment from the last complete value to the partial one.
  function splitPartial(spec) {
    var values = spec.values;
    var n = values.length;
    if (!spec.partial || n === 0) {
      return { complete: values, partial: null };
    }

    var complete = values.slice();
    complete[n - 1] = null;
    var partial = values.map(function () { return null; });
    if (n >= 2) {
      partial[n - 2] = values[n - 2];
    }
    partial[n - 1] = values[n - 1];
    return { complete: complete, partial: partial };
  }

  // tooltipFormatter lists the value and the target of the hovered period.
  function tooltipFormatter(spec, format) {
    return function (params) {
      var list = Array.isArray(params) ? params : [params];
      if (list.length === 0) {
        return '';
      }
      var i = list[0].dataIndex;
      var last = i === spec.values.length - 1;

      var html = '<strong>' + escapeHTML(spec.labels[i]) + '</strong>';
      if (last && spec.partial) {
        html += ' (' + escapeHTML(spec.partial_label) + ')';
      }
      var v = spec.values[i];
      html += '<br>' + escapeHTML(spec.name) + ': ' + (v === null ? 'no value' : escapeHTML(format(v)));
      if (spec.targets && spec.targets[i] !== null) {
        html += '<br>Target path: ' + escapeHTML(format(spec.targets[i]));
      }
      (spec.annotations || []).forEach(function (a) {
        if (a.label === spec.labels[i]) {
          html += '<br>' + escapeHTML(a.date) + ' ' + escapeHTML(a.kind_label) + ': ' + escapeHTML(a.note);
        }
      });
      if (window.northstarReferenceLines) {
        html += window.northstarReferenceLines.tooltip(spec, i, format, escapeHTML);
      }
      return html;
    };
  }

  function sparklineOption(spec, format) {
    var parts = splitPartial(spec);
    var series = [{
      type: 'line',
      data: parts.complete,
      showSymbol: false,
      lineStyle: { width: 2, color: COLOR_VALUE },
      itemStyle: { color: COLOR_VALUE }
    }];
    if (parts.partial) {
      series.push({
        type: 'line',
        data: parts.partial,
        showSymbol: false,
        lineStyle: { width: 2, color: COLOR_VALUE, type: 'dashed' },
        itemStyle: { color: COLOR_VALUE }
      });
    }

    return {
      animation: false,
      grid: { left: 2, right: 2, top: 4, bottom: 4 },
      xAxis: { type: 'category', data: spec.labels, show: false, boundaryGap: false },
      yAxis: { type: 'value', show: false, scale: true },
      tooltip: { trigger: 'axis', confine: true, formatter: tooltipFormatter(spec, format) },
      series: series
    };
  }

  // Okabe-Ito colours for annotation kinds; the marker's label names the
  // kind as well, so colour is not the only signal.
  var ANNOTATION_COLORS = { release: '#009E73', experiment: '#CC79A7', incident: '#D55E00', external: '#56B4E9' };

  // annotationMarkers draws each annotation as a dashed vertical line on the
  // period that contains its date. The axis tooltip lists its kind and note.
  function annotationMarkers(annotations) {
    return {
      symbol: ['none', 'none'],
      silent: false,
      animation: false,
      data: annotations.map(function (a) {
        var color = ANNOTATION_COLORS[a.kind] || COLOR_TEXT;
        return {
          xAxis: a.label,
          name: a.kind_label + ': ' + a.note,
          lineStyle: { color: color, type: 'dashed', width: 1.5 },
          label: { show: true, position: 'insideEndTop', formatter: a.kind_label, color: color }
        };
      })
    };
  }

  function seriesOption(spec, format) {
    var parts = splitPartial(spec);
    var series = [{
      name: spec.name,
      type: 'line',
      data: parts.complete,
      symbol: 'circle',
      symbolSize: 6,
      lineStyle: { width: 2.5, color: COLOR_VALUE },
      itemStyle: { color: COLOR_VALUE }
    }];

    if (parts.partial) {
      // The partial period is drawn dashed with a hollow, labelled point, so
      // that a reader does not take "month to date" for a drop.
      var n = parts.partial.length;
      parts.partial[n - 1] = {
        value: parts.partial[n - 1],
        symbol: 'emptyCircle',
        symbolSize: 9,
        label: { show: true, position: 'top', align: 'right', formatter: spec.partial_label, color: COLOR_TEXT }
      };
      series.push({
        name: spec.name,
        type: 'line',
        data: parts.partial,
        symbol: 'none',
        lineStyle: { width: 2.5, color: COLOR_VALUE, type: 'dashed' },
        itemStyle: { color: COLOR_VALUE }
      });
    }

    if (spec.annotations && spec.annotations.length > 0) {
      series[0].markLine = annotationMarkers(spec.annotations);
    }

    var legend = [spec.name];
    if (spec.targets) {
      legend.push('Target path');
      series.push({
        name: 'Target path',
        type: 'line',
        data: spec.targets,
        symbol: 'none',
        lineStyle: { width: 2, color: COLOR_TARGET, type: 'dotted' },
        itemStyle: { color: COLOR_TARGET }
      });
    }
    if (window.northstarReferenceLines) {
      window.northstarReferenceLines.add(spec, series, legend);
    }

    return {
      animation: false,
      textStyle: { color: COLOR_TEXT },
      legend: { top: 0, data: legend },
      grid: { left: 8, right: 24, top: 40, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', confine: true, formatter: tooltipFormatter(spec, format) },
      xAxis: {
        type: 'category',
        data: spec.labels,
        boundaryGap: false,
        // Align the end labels inwards so that they are not cut at the edges.
        axisLabel: { hideOverlap: true, alignMinLabel: 'left', alignMaxLabel: 'right' }
      },
      yAxis: {
        type: 'value',
        axisLabel: { formatter: format },
        splitLine: { lineStyle: { color: COLOR_GRID } }
      },
      series: series
    };
  }

  function drawCharts() {
    var elements = document.querySelectorAll('[data-chart]');
    if (elements.length === 0) {
      return;
    }

    if (typeof window.echarts === 'undefined') {
      elements.forEach(function (el) {
        el.textContent = MISSING;
        el.classList.add('chart-missing');
      });
      return;
    }

    var specs = readCharts();
    var charts = [];
    elements.forEach(function (el) {
      var spec = specs[el.getAttribute('data-chart')];
      if (!spec) {
        return;
      }
      var format = valueFormatter(spec.unit);
      var option = spec.kind === 'sparkline' ? sparklineOption(spec, format) : seriesOption(spec, format);
      if (spec.kind === 'series' && window.NorthstarTrend) {
        window.NorthstarTrend.decorate(option, spec, format);
      }
      var chart = window.echarts.init(el, null, { renderer: 'canvas' });
      chart.setOption(option);
      charts.push(chart);
    });

    window.addEventListener('resize', function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', drawCharts);
  } else {
    drawCharts();
  }
})();
