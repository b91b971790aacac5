// Adds a KPI's trend analysis to its series chart, for app.js: the moving
// average as a thin line, the forecast as a dashed line with its prediction
// interval as a band, and anomalies as marked points. The server sends them
// in the chart's data (see chartSpec in internal/web/views.go).
(function () {
  'use strict';

  // Okabe-Ito colours, as in app.js.
  var COLOR_AVERAGE = '#009E73';
  var COLOR_FORECAST = '#CC79A7';
  var COLOR_ANOMALY = '#D55E00';

  function hasValue(values) {
    return Array.isArray(values) && values.some(function (v) { return v !== null; });
  }

  // bandWidths returns high − low per period, stacked on the low line so that
  // the area between them is filled.
  function bandWidths(low, high) {
    return low.map(function (v, i) {
      return v === null || high[i] === null ? null : high[i] - v;
    });
  }

  function decorate(option, spec, format) {
    var legend = option.legend.data;
    if (Array.isArray(spec.forecast_labels) && spec.forecast_labels.length > 0) {
      option.xAxis.data = spec.labels.concat(spec.forecast_labels);
    }
    var labels = option.xAxis.data;

    if (hasValue(spec.moving_average)) {
      var name = 'Moving average (' + spec.moving_average_window + ')';
      legend.push(name);
      option.series.push({
        name: name,
        type: 'line',
        data: spec.moving_average,
        symbol: 'none',
        lineStyle: { width: 1.5, color: COLOR_AVERAGE },
        itemStyle: { color: COLOR_AVERAGE }
      });
    }

    if (hasValue(spec.forecast)) {
      var interval = Math.round((spec.forecast_level || 0.95) * 100) + '% interval';
      legend.push('Forecast', interval);
      option.series.push({
        name: interval,
        type: 'line',
        data: spec.forecast_low,
        stack: 'forecast-band',
        symbol: 'none',
        lineStyle: { opacity: 0 },
        itemStyle: { color: COLOR_FORECAST },
        tooltip: { show: false }
      }, {
        name: interval,
        type: 'line',
        data: bandWidths(spec.forecast_low, spec.forecast_high),
        stack: 'forecast-band',
        symbol: 'none',
        lineStyle: { opacity: 0 },
        areaStyle: { color: COLOR_FORECAST, opacity: 0.2 },
        itemStyle: { color: COLOR_FORECAST },
        tooltip: { show: false }
      }, {
        name: 'Forecast',
        type: 'line',
        data: spec.forecast,
        symbol: 'none',
        lineStyle: { width: 2, color: COLOR_FORECAST, type: 'dashed' },
        itemStyle: { color: COLOR_FORECAST }
      });
    }

    if (Array.isArray(spec.anomalies) && spec.anomalies.length > 0) {
      option.series[0].markPoint = {
        symbol: 'diamond',
        symbolSize: 14,
        itemStyle: { color: COLOR_ANOMALY },
        label: { show: false },
        data: spec.anomalies.map(function (a) {
          return {
            name: 'Anomaly',
            coord: [a.index, a.value],
            value: format(a.value) + ' (expected ' + format(a.expected) + ')'
          };
        })
      };
    }

    var tooltip = option.tooltip.formatter;
    option.tooltip.formatter = function (params) {
      var list = Array.isArray(params) ? params : [params];
      if (list.length === 0) {
        return '';
      }
      var i = list[0].dataIndex;
      var html = i < spec.values.length ? tooltip(params) : '<strong>' + escapeText(labels[i]) + '</strong>';
      if (hasValue(spec.moving_average) && spec.moving_average[i] != null) {
        html += '<br>Moving average: ' + escapeText(format(spec.moving_average[i]));
      }
      var last = spec.values.length - 1;
      if (spec.forecast && spec.forecast[i] != null && (i > last || (spec.partial && i === last))) {
        html += '<br>Forecast: ' + escapeText(format(spec.forecast[i])) +
          ' (' + escapeText(format(spec.forecast_low[i])) + ' to ' + escapeText(format(spec.forecast_high[i])) + ')';
      }
      (spec.anomalies || []).forEach(function (a) {
        if (a.index === i) {
          html += '<br>Anomaly: expected ' + escapeText(format(a.expected));
        }
      });
      return html;
    };
  }

  function escapeText(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  window.NorthstarTrend = { decorate: decorate };
})();
