// Draws a Northstar dashboard: widgets on a gridstack grid, charts with
// Apache ECharts, live updates over Server-Sent Events. The page passes its
// configuration in the JSON block #board-config; nothing runs inline, so the
// page works under a Content-Security-Policy that allows only 'self'.
// The same file runs the dashboard list's "create" form.
(function () {
  'use strict';

  // Okabe-Ito colours, which people with the common colour-vision
  // deficiencies can tell apart.
  var PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#000000'];
  var COLOR_TARGET = '#E69F00';
  var COLOR_TEXT = '#3b4450';
  var COLOR_GRID = '#e1e5ea';
  var NONE_SEGMENT = '(none)'; // engine.NoneSegment: the events without the breakdown's property
  var CURRENCIES = { USD: true, EUR: true, GBP: true };
  var ANNOTATION_LETTERS = { release: 'R', experiment: 'E', incident: 'I', external: 'X' };

  // A stream that sent nothing for this long is shown as stale; the server
  // pings every 15 seconds.
  var STALE_AFTER_MS = 40000;

  function $(id) { return document.getElementById(id); }

  // placeTooltip keeps a tooltip beside the pointer and inside the chart. A
  // position function also stops ECharts from drawing the tooltip's arrow
  // with an inline style attribute, which the Content-Security-Policy blocks.
  function placeTooltip(point, params, dom, rect, size) {
    var x = point[0] + 14;
    var y = point[1] + 14;
    if (x + size.contentSize[0] > size.viewSize[0]) { x = point[0] - size.contentSize[0] - 14; }
    if (y + size.contentSize[1] > size.viewSize[1]) { y = point[1] - size.contentSize[1] - 14; }
    return [Math.max(0, x), Math.max(0, y)];
  }

  // h creates an element with attributes and children (strings or nodes).
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) { return; }
      if (k === 'class') { el.className = v; } else if (k === 'text') { el.textContent = v; } else { el.setAttribute(k, v === true ? '' : v); }
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return el;
  }

  function escapeHTML(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  // csrfToken returns the session's CSRF token from the page's meta tag,
  // which the server requires on every request that changes data.
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : '';
  }

  // api sends a JSON request and resolves with the decoded body, or rejects
  // with the server's error message.
  function api(method, url, body) {
    var opts = { method: method, headers: { Accept: 'application/json', 'X-CSRF-Token': csrfToken() }, credentials: 'same-origin' };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (res) {
      if (res.status === 204) { return null; }
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!res.ok) {
          var msg = data && data.error ? data.error.message : 'request failed with status ' + res.status;
          throw new Error(msg);
        }
        return data;
      });
    });
  }

  function showMessage(text, kind) {
    var el = $('board-message');
    if (!el) { return; }
    el.textContent = text || '';
    el.className = 'form-message' + (kind ? ' form-message-' + kind : '');
  }

  // valueFormatter formats a number in a KPI's unit, as the server does.
  function valueFormatter(unit) {
    var upper = (unit || '').toUpperCase();
    var plain = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
    if (CURRENCIES[upper]) {
      var money = new Intl.NumberFormat('en-US', { style: 'currency', currency: upper, maximumFractionDigits: 2 });
      return function (v) { return money.format(v); };
    }
    if (unit === '%' || upper === 'PERCENT') { return function (v) { return plain.format(v) + '%'; }; }
    if (!unit) { return function (v) { return plain.format(v); }; }
    return function (v) { return plain.format(v) + ' ' + unit; };
  }

  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  // periodLabel names the period that starts at an RFC 3339 time.
  function periodLabel(start, grain) {
    var d = String(start).slice(0, 10);
    var y = d.slice(0, 4), m = parseInt(d.slice(5, 7), 10);
    if (grain === 'month') { return MONTHS[m - 1] + ' ' + y; }
    if (grain === 'quarter') { return 'Q' + (Math.floor((m - 1) / 3) + 1) + ' ' + y; }
    if (grain === 'week') { return 'Week of ' + MONTHS[m - 1] + ' ' + parseInt(d.slice(8, 10), 10) + ', ' + y; }
    return MONTHS[m - 1] + ' ' + parseInt(d.slice(8, 10), 10) + ', ' + y;
  }

  // plainTooltip formats an axis tooltip as the period and each value, with
  // no colour markers: ECharts draws those with inline style attributes,
  // which the Content-Security-Policy blocks.
  function plainTooltip(format) {
    return function (params) {
      var items = Array.isArray(params) ? params : [params];
      if (items.length === 0) { return ''; }
      var html = '<strong>' + escapeHTML(items[0].name) + '</strong>';
      items.forEach(function (p) {
        var v = p.value;
        html += '<br>' + escapeHTML(p.seriesName) + ': ' + (v === null || v === undefined ? 'no value' : escapeHTML(format(v)));
      });
      return html;
    };
  }

  // ---- The dashboard list page ----

  function initCreateForm() {
    var form = $('create-dashboard-form');
    if (!form) { return; }
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      api('POST', '/api/v1/dashboards', { name: form.elements.name.value }).then(function (d) {
        window.location.assign(d.page);
      }).catch(function (err) { showMessage(err.message, 'error'); });
    });
  }

  // ---- Widgets ----

  // Board is the state of one drawn dashboard.
  function Board(config) {
    this.config = config;
    this.gridEl = $('grid');
    this.widgets = {}; // id -> { el, data, charts }
    this.controls = { grain: config.grain || '', from: config.from || '', to: config.to || '' };
    this.source = null;
    this.lastMessage = 0;
    this.editable = config.mode === 'edit';
    this.linked = config.mode === 'edit' || config.mode === 'view'; // signed in, so KPI pages open
  }

  Board.prototype.query = function () {
    var q = new URLSearchParams();
    q.set('grain', this.controls.grain);
    q.set('from', this.controls.from);
    q.set('to', this.controls.to);
    return '?' + q.toString();
  };

  Board.prototype.initGrid = function () {
    var self = this;
    this.grid = window.GridStack.init({
      column: 12,
      cellHeight: 64,
      margin: 6,
      animate: false,
      float: false,
      staticGrid: !this.editable,
      handle: '.widget-handle',
      columnOpts: { breakpointForWindow: true, layout: 'list', breakpoints: [{ w: 700, c: 1, layout: 'list' }] }
    }, this.gridEl);
    if (this.editable) {
      this.grid.on('dragstop resizestop', function () { setTimeout(function () { self.saveLayout(); }, 0); });
    }
    this.grid.on('resizestop', function (e, el) { self.resizeCharts(el); });
  };

  // load fetches the data of every widget and draws the grid afresh.
  Board.prototype.load = function () {
    var self = this;
    var started = performance.now();
    $('board-loading').hidden = false;
    return api('GET', this.config.data_url + this.query()).then(function (data) {
      self.render(data);
      $('board-loading').hidden = true;
      document.body.setAttribute('data-render-ms', String(Math.round(performance.now() - started)));
      document.body.setAttribute('data-board-ready', 'true');
    }).catch(function (err) {
      $('board-loading').hidden = true;
      showMessage('The widgets could not be loaded: ' + err.message + '. Reload the page to try again.', 'error');
    });
  };

  Board.prototype.render = function (data) {
    var self = this;
    Object.keys(this.widgets).forEach(function (id) { self.disposeCharts(self.widgets[id]); });
    this.widgets = {};
    this.grid.removeAll(true);
    this.setAsOf(data.as_of);

    var layout = {};
    (data.dashboard.widgets || []).forEach(function (w) { layout[w.id] = w; });
    $('board-empty').hidden = data.widgets.length > 0;

    // Widgets are placed on the 12-column grid they were saved for; on a
    // phone the grid then stacks them into one column in layout order.
    var columns = this.grid.getColumn();
    if (columns !== 12) { this.grid.column(12, 'none'); }
    this.grid.batchUpdate();
    data.widgets.forEach(function (wd) {
      var pos = layout[wd.id] || { x: 0, y: 0, w: 3, h: 3 };
      var item = h('div', { class: 'grid-stack-item', 'gs-id': String(wd.id), 'gs-x': pos.x, 'gs-y': pos.y, 'gs-w': pos.w, 'gs-h': pos.h });
      var content = h('div', { class: 'grid-stack-item-content' });
      item.appendChild(content);
      self.gridEl.appendChild(item);
      self.grid.makeWidget(item);
      self.widgets[wd.id] = { el: item, content: content, data: wd, charts: [] };
    });
    this.grid.batchUpdate(false);
    if (columns !== 12) { this.grid.column(columns, 'list'); }

    data.widgets.forEach(function (wd) { self.drawWidget(self.widgets[wd.id]); });
  };

  // update redraws the widgets that a live update sent.
  Board.prototype.update = function (update) {
    var self = this;
    this.setAsOf(update.as_of);
    (update.widgets || []).forEach(function (wd) {
      var w = self.widgets[wd.id];
      if (!w) { return; }
      w.data = wd;
      self.drawWidget(w);
      w.el.classList.add('widget-updated');
      setTimeout(function () { w.el.classList.remove('widget-updated'); }, 1500);
    });
  };

  Board.prototype.setAsOf = function (asOf) {
    var footer = document.querySelector('.site-footer');
    if (footer && asOf) { footer.textContent = 'Values as of ' + asOf + '.'; }
  };

  Board.prototype.disposeCharts = function (w) {
    (w.charts || []).forEach(function (c) { c.dispose(); });
    (w.observers || []).forEach(function (o) { o.disconnect(); });
    w.charts = [];
    w.observers = [];
  };

  Board.prototype.resizeCharts = function (el) {
    Object.keys(this.widgets).forEach(function (id) {
      var w = this.widgets[id];
      if (!el || w.el === el) { w.charts.forEach(function (c) { c.resize(); }); }
    }, this);
  };

  Board.prototype.drawWidget = function (w) {
    var self = this;
    var wd = w.data;
    this.disposeCharts(w);
    w.content.textContent = '';

    var titleID = 'widget-title-' + wd.id;
    var article = h('article', { class: 'widget widget-' + wd.kind, 'data-widget-id': String(wd.id), 'data-kind': wd.kind, 'aria-labelledby': titleID });
    var header = h('header', { class: 'widget-header' });
    if (this.editable) {
      header.appendChild(h('span', { class: 'widget-handle', title: 'Drag to move', 'aria-hidden': 'true', text: '⠿' }));
    }
    var title = h('h2', { class: 'widget-title', id: titleID });
    if (wd.href && this.linked) {
      title.appendChild(h('a', { href: wd.href, text: wd.title || wd.kind }));
    } else {
      title.textContent = wd.title || wd.kind;
    }
    header.appendChild(title);
    var menu = this.widgetMenu(w);
    if (menu) { header.appendChild(menu); }
    article.appendChild(header);

    var body = h('div', { class: 'widget-body' });
    article.appendChild(body);
    w.content.appendChild(article);

    if (wd.error) {
      body.appendChild(h('p', { class: 'widget-error', role: 'note' }, [h('span', { 'aria-hidden': 'true', text: '⚠ ' }), wd.error]));
      return;
    }
    var draw = {
      kpi_card: this.drawCard, chart: this.drawChart, cohort: this.drawCohort, funnel: this.drawFunnel,
      breakdown: this.drawBreakdown, objective: this.drawObjective, feedback: this.drawFeedback
    }[wd.kind];
    if (draw) { draw.call(self, w, body); }
    if (wd.empty) {
      body.appendChild(h('p', { class: 'widget-empty', text: wd.empty }));
    }
    if (wd.kind === 'kpi_card') { this.fitCard(w, article, body); }
  };

  // SPARKLINE_MIN_PX is the height below which a card's sparkline is too
  // flat to read and is hidden.
  var SPARKLINE_MIN_PX = 28;

  // fitCard keeps a KPI card inside its grid cell without a scrollbar: when
  // the content does not fit, it hides the secondary lines in two steps
  // (the status note and sparkline, then the progress text and the change's
  // comparison). It runs again whenever the cell changes size. The KPI page,
  // which the title links to, shows every line.
  Board.prototype.fitCard = function (w, article, body) {
    function fit() {
      article.classList.remove('widget-tight', 'widget-tighter');
      var spark = body.querySelector('.widget-sparkline');
      var sparkTooSmall = spark && spark.clientHeight < SPARKLINE_MIN_PX;
      if (body.scrollHeight <= body.clientHeight && !sparkTooSmall) { return; }
      article.classList.add('widget-tight');
      if (body.scrollHeight <= body.clientHeight) { return; }
      article.classList.add('widget-tighter');
    }
    fit();
    if (typeof ResizeObserver !== 'undefined') {
      // The grid item's size is set by gridstack only, so hiding lines
      // inside it cannot trigger this observer again.
      var obs = new ResizeObserver(fit);
      obs.observe(w.content);
      w.observers.push(obs);
    }
  };

  // widgetMenu returns the widget's actions: keyboard moves and resizes in
  // edit mode, and a PNG download for charts.
  Board.prototype.widgetMenu = function (w) {
    var self = this;
    var wd = w.data;
    var charted = ['chart', 'cohort', 'funnel', 'breakdown'].indexOf(wd.kind) >= 0 && !wd.error && !wd.empty;
    if (!this.editable && (!charted || this.config.mode === 'tv')) { return null; }

    var list = h('div', { class: 'widget-actions' });
    function button(label, fn, cls) {
      var b = h('button', { type: 'button', class: cls || '', text: label });
      b.addEventListener('click', fn);
      list.appendChild(b);
    }
    if (this.editable) {
      button('Move left', function () { self.nudge(w, -1, 0, 0, 0); });
      button('Move right', function () { self.nudge(w, 1, 0, 0, 0); });
      button('Move up', function () { self.nudge(w, 0, -1, 0, 0); });
      button('Move down', function () { self.nudge(w, 0, 1, 0, 0); });
      button('Wider', function () { self.nudge(w, 0, 0, 1, 0); });
      button('Narrower', function () { self.nudge(w, 0, 0, -1, 0); });
      button('Taller', function () { self.nudge(w, 0, 0, 0, 1); });
      button('Shorter', function () { self.nudge(w, 0, 0, 0, -1); });
    }
    if (charted) {
      button('Download chart as PNG', function () { self.downloadPNG(w); });
    }
    if (this.editable) {
      button('Remove widget', function () { self.removeWidget(w); }, 'danger');
    }
    return h('details', { class: 'widget-menu' }, [
      h('summary', { 'aria-label': 'Actions for ' + (wd.title || wd.kind), title: 'Widget actions', text: '⋯' }), list
    ]);
  };

  Board.prototype.nudge = function (w, dx, dy, dw, dh) {
    var n = w.el.gridstackNode;
    if (!n) { return; }
    var width = Math.max(1, Math.min(12, n.w + dw));
    var x = Math.max(0, Math.min(12 - width, n.x + dx));
    this.grid.update(w.el, { x: x, y: Math.max(0, n.y + dy), w: width, h: Math.max(1, n.h + dh) });
    this.saveLayout();
    this.resizeCharts(w.el);
    var summary = w.el.querySelector('.widget-menu summary');
    if (summary) { summary.focus(); }
  };

  // saveLayout sends the place and size of every widget. A phone-width grid
  // of one column is not saved: it only stacks the saved layout.
  Board.prototype.saveLayout = function () {
    if (!this.editable || this.grid.getColumn() !== 12) { return; }
    var widgets = this.grid.getGridItems().map(function (el) {
      var n = el.gridstackNode;
      return { id: parseInt(n.id, 10), x: n.x, y: n.y, w: n.w, h: n.h };
    });
    api('PUT', this.config.api_url + '/layout', { widgets: widgets }).then(function () {
      showMessage('');
      document.body.setAttribute('data-layout-saved', String(Date.now()));
    }).catch(function (err) {
      showMessage('The layout was not saved: ' + err.message, 'error');
    });
  };

  Board.prototype.removeWidget = function (w) {
    var self = this;
    if (!window.confirm('Remove the widget “' + (w.data.title || w.data.kind) + '”?')) { return; }
    api('DELETE', this.config.api_url + '/widgets/' + w.data.id).then(function () { return self.load(); })
      .catch(function (err) { showMessage(err.message, 'error'); });
  };

  Board.prototype.downloadPNG = function (w) {
    var chart = w.charts[0];
    if (!chart) { return; }
    var a = h('a', { href: chart.getDataURL({ type: 'png', pixelRatio: 2, backgroundColor: '#ffffff' }), download: (w.data.title || 'chart').replace(/[^\w.-]+/g, '-') + '.png' });
    document.body.appendChild(a);
    a.click();
    a.remove();
  };

  // chartIn starts an ECharts instance in a new element of body, resized
  // with its widget.
  Board.prototype.chartIn = function (w, body, label) {
    var el = h('div', { class: 'widget-chart', role: 'img', 'aria-label': label });
    body.appendChild(el);
    if (typeof window.echarts === 'undefined') {
      el.textContent = 'chart library not bundled: run scripts/assets.sh and rebuild';
      return null;
    }
    var chart = window.echarts.init(el, null, { renderer: 'canvas' });
    w.charts.push(chart);
    if (typeof ResizeObserver !== 'undefined') {
      var obs = new ResizeObserver(function () { chart.resize(); });
      obs.observe(el);
      w.observers.push(obs);
    }
    return chart;
  };

  Board.prototype.drawCard = function (w, body) {
    var c = w.data.card;
    if (!c) { return; }
    var status = c.status || {};
    body.appendChild(h('p', { class: 'status ' + status.class }, [
      h('span', { class: 'status-icon', 'aria-hidden': 'true', text: status.icon }), ' ' + status.label
    ]));
    if (c.retired) {
      body.appendChild(h('p', {}, [h('span', { class: 'review-label review-retired', text: 'retired' })]));
    } else if (c.review_due) {
      body.appendChild(h('p', {}, [h('span', { class: 'review-label review-due', text: 'review due' })]));
    }
    var value = h('p', { class: 'kpi-value' }, [h('span', { class: 'value', text: c.value })]);
    if (c.period) {
      value.appendChild(h('span', { class: 'period', text: ' ' + c.period + (c.partial_label ? ', ' + c.partial_label : '') }));
    }
    body.appendChild(value);
    if (status.period) {
      body.appendChild(h('p', { class: 'status-note', text: 'Status of ' + status.period + '; this period is judged when it ends.' }));
    }
    if (c.change) {
      body.appendChild(h('p', { class: 'change ' + c.change.class }, [
        h('span', { 'aria-hidden': 'true', text: c.change.arrow + ' ' }), c.change.text + ' ',
        h('span', { class: 'compared', text: c.change.compared })
      ]));
    } else if (c.change_none) {
      body.appendChild(h('p', { class: 'change change-none', text: c.change_none }));
    }
    if (c.progress) {
      body.appendChild(h('div', { class: 'progress' }, [
        h('progress', { max: '100', value: String(c.progress.percent), 'aria-label': 'Progress to target', text: c.progress.percent + '%' }),
        h('p', { class: 'progress-text', text: c.progress.text })
      ]));
    }
    (c.warnings || []).forEach(function (text) {
      body.appendChild(h('p', { class: 'kpi-warning', role: 'note' }, [h('span', { 'aria-hidden': 'true', text: '⚠ ' }), text]));
    });
    if (c.sparkline && c.sparkline.values.length > 0) {
      var chart = this.chartIn(w, body, 'Trend of ' + w.data.title);
      if (chart) {
        var format = valueFormatter(c.sparkline.unit);
        chart.setOption({
          animation: false,
          grid: { left: 2, right: 2, top: 4, bottom: 4 },
          xAxis: { type: 'category', data: c.sparkline.labels, show: false, boundaryGap: false },
          yAxis: { type: 'value', show: false, scale: true },
          tooltip: { trigger: 'axis', confine: true, position: placeTooltip, formatter: plainTooltip(format) },
          series: [{ type: 'line', name: c.sparkline.name, data: c.sparkline.values, showSymbol: false, lineStyle: { width: 2, color: PALETTE[0] }, itemStyle: { color: PALETTE[0] } }]
        });
        chart.getDom().classList.add('widget-sparkline');
      }
    }
  };

  // alignedSeries puts the points of several series on one list of periods.
  function alignedSeries(list) {
    var starts = {};
    var grain = '';
    list.forEach(function (s) {
      if (!s.series) { return; }
      grain = grain || s.series.grain;
      (s.series.points || []).forEach(function (p) { starts[String(p.period_start).slice(0, 10)] = true; });
    });
    var keys = Object.keys(starts).sort();
    var index = {};
    keys.forEach(function (k, i) { index[k] = i; });
    return { keys: keys, index: index, grain: grain, labels: keys.map(function (k) { return periodLabel(k, grain); }) };
  }

  // periodIndex returns the index of the period that contains date.
  function periodIndex(keys, date) {
    var found = -1;
    keys.forEach(function (k, i) { if (k <= date) { found = i; } });
    return found;
  }

  // MAX_CHART_UNITS is how many y-axes a chart widget draws: one on each side.
  var MAX_CHART_UNITS = 2;

  // chartUnits lists the distinct units of a chart's KPIs in their order,
  // with each unit's y-axis index. KPIs whose series failed are skipped.
  function chartUnits(list) {
    var out = { list: [], index: {} };
    list.forEach(function (s) {
      var unit = s.unit || '';
      if (s.error || unit in out.index) { return; }
      out.index[unit] = out.list.length;
      out.list.push(unit);
    });
    if (out.list.length === 0) { out.list.push(''); }
    return out;
  }

  // unitName labels a y-axis with its unit.
  function unitName(unit) { return unit || 'no unit'; }

  Board.prototype.drawChart = function (w, body) {
    var wd = w.data;
    var list = wd.series || [];
    if (list.length === 0) { return; }
    var axis = alignedSeries(list);
    var bar = wd.chart === 'bar';
    var series = [];
    var legend = [];
    var notes = {}; // period index -> annotation texts
    var partialLabel = '';
    var errors = [];

    // Each unit gets its own y-axis, so a KPI counted in signups does not
    // lie flat at 0 under revenue in EUR. Two units fit, one axis on each
    // side; the KPIs of a third or later unit are left out with a note.
    var units = chartUnits(list);
    var formats = {}; // series name -> formatter in its KPI's unit
    var leftOut = [];

    list.forEach(function (s, si) {
      if (s.error) { errors.push(s.name + ': ' + s.error); return; }
      var axisIndex = units.index[s.unit || ''];
      if (axisIndex >= MAX_CHART_UNITS) { leftOut.push(s.name); return; }
      var format = valueFormatter(s.unit);
      var color = PALETTE[si % PALETTE.length];
      var points = (s.series && s.series.points) || [];
      var values = axis.keys.map(function () { return null; });
      var targets = axis.keys.map(function () { return null; });
      var partialAt = -1;
      var hasTarget = false;
      points.forEach(function (p) {
        var i = axis.index[String(p.period_start).slice(0, 10)];
        values[i] = p.value;
        if (p.partial) {
          partialAt = i;
        } else if (p.target !== null && p.target !== undefined) {
          targets[i] = p.target;
          hasTarget = true;
        }
      });
      legend.push(s.name);

      var solid = values.slice();
      var dashed = null;
      if (partialAt >= 0) {
        partialLabel = 'dashed: period not over';
        solid[partialAt] = bar ? { value: values[partialAt], itemStyle: { opacity: 0.45, borderType: 'dashed', borderColor: color, borderWidth: 2 } } : null;
        if (!bar) {
          dashed = values.map(function () { return null; });
          if (partialAt > 0) { dashed[partialAt - 1] = values[partialAt - 1]; }
          dashed[partialAt] = { value: values[partialAt], symbol: 'emptyCircle', symbolSize: 8 };
        }
      }
      var main = {
        name: s.name, type: bar ? 'bar' : 'line', data: solid, symbolSize: 6, yAxisIndex: axisIndex,
        lineStyle: { width: 2.5, color: color }, itemStyle: { color: color }
      };
      series.push(main);
      formats[s.name] = format;
      if (dashed) {
        series.push({ name: s.name, type: 'line', data: dashed, yAxisIndex: axisIndex, symbol: 'emptyCircle', lineStyle: { width: 2.5, color: color, type: 'dashed' }, itemStyle: { color: color }, tooltip: { show: false } });
      }
      if (hasTarget) {
        var tname = list.length > 1 ? 'Target path of ' + s.name : 'Target path';
        legend.push(tname);
        formats[tname] = format;
        series.push({ name: tname, type: 'line', data: targets, yAxisIndex: axisIndex, symbol: 'none', lineStyle: { width: 2, color: list.length > 1 ? color : COLOR_TARGET, type: 'dotted' }, itemStyle: { color: list.length > 1 ? color : COLOR_TARGET } });
      }

      // Benchmark lines: a constant value, or points by date.
      ((s.series && s.series.benchmarks) || []).forEach(function (b, bi) {
        var bname = 'Benchmark: ' + b.name;
        var data = axis.keys.map(function () { return null; });
        if (typeof b.value === 'number') {
          data = axis.keys.map(function () { return b.value; });
        } else if (Array.isArray(b.points)) {
          b.points.forEach(function (p) {
            var i = periodIndex(axis.keys, String(p.date || p.period_start || '').slice(0, 10));
            if (i >= 0) { data[i] = p.value; }
          });
        }
        legend.push(bname);
        formats[bname] = format;
        series.push({ name: bname, type: 'line', data: data, yAxisIndex: axisIndex, symbol: 'none', connectNulls: true, lineStyle: { width: 1.5, color: PALETTE[(si + bi + 4) % PALETTE.length], type: [2, 4] } });
      });

      // Annotations: a marker on the period of each note.
      ((s.series && s.series.annotations) || []).forEach(function (a) {
        var i = periodIndex(axis.keys, String(a.date).slice(0, 10));
        if (i < 0) { return; }
        var text = a.kind + ' ' + a.date + ': ' + a.note;
        notes[i] = notes[i] || [];
        if (notes[i].indexOf(text) < 0) { notes[i].push(text); }
      });
    });

    if (errors.length > 0) {
      body.appendChild(h('p', { class: 'widget-error', role: 'note', text: errors.join(' ') }));
    }
    if (leftOut.length > 0) {
      body.appendChild(h('p', { class: 'widget-note chart-left-out', role: 'note', text:
        'Not drawn: ' + leftOut.join(', ') + ', because a chart shows at most ' + MAX_CHART_UNITS +
        ' units (' + units.list.slice(0, MAX_CHART_UNITS).map(unitName).join(' and ') + '). Put ' +
        (leftOut.length > 1 ? 'them' : 'it') + ' in another chart widget.' }));
    }
    var markData = Object.keys(notes).map(function (i) {
      var first = notes[i][0];
      return { xAxis: parseInt(i, 10), name: notes[i].join('\n'), label: { formatter: ANNOTATION_LETTERS[first.split(' ')[0]] || 'N' } };
    });
    if (series.length > 0 && markData.length > 0) {
      series[0].markLine = { symbol: 'none', silent: false, lineStyle: { color: COLOR_TEXT, type: 'solid', width: 1 }, label: { position: 'end', color: COLOR_TEXT }, tooltip: { formatter: function (p) { return escapeHTML(p.name); } }, data: markData };
    }

    var chart = this.chartIn(w, body, 'Chart of ' + wd.title + (partialLabel ? '; the last period is not over and is drawn dashed' : ''));
    if (!chart) { return; }
    chart.setOption({
      animation: false,
      color: PALETTE,
      textStyle: { color: COLOR_TEXT },
      legend: { top: 0, type: 'scroll', data: legend },
      // outerBoundsMode 'same' keeps the axis labels and names inside the
      // grid's box, so the last x-axis label is not clipped (ECharts 6).
      grid: { left: 8, right: 8, top: 34, bottom: 4, outerBoundsMode: 'same', outerBoundsContain: 'all' },
      tooltip: {
        trigger: 'axis', confine: true, position: placeTooltip,
        formatter: function (params) {
          var items = Array.isArray(params) ? params : [params];
          if (items.length === 0) { return ''; }
          var i = items[0].dataIndex;
          var html = '<strong>' + escapeHTML(axis.labels[i]) + '</strong>';
          var shown = {};
          items.forEach(function (p) {
            var v = p.value;
            if (v && typeof v === 'object') { v = v.value; }
            if (v === null || v === undefined || v === '-' || shown[p.seriesName]) { return; }
            shown[p.seriesName] = true;
            html += '<br>' + escapeHTML(p.seriesName) + ': ' + escapeHTML((formats[p.seriesName] || valueFormatter(''))(v));
          });
          (notes[i] || []).forEach(function (n) { html += '<br>Note: ' + escapeHTML(n); });
          return html;
        }
      },
      // A line chart's end labels are aligned inwards, as on the KPI page.
      xAxis: { type: 'category', data: axis.labels, boundaryGap: bar, axisLabel: bar ? { hideOverlap: true } : { hideOverlap: true, alignMinLabel: 'left', alignMaxLabel: 'right' } },
      yAxis: units.list.slice(0, MAX_CHART_UNITS).map(function (unit, i) {
        return {
          type: 'value', position: i === 0 ? 'left' : 'right', name: units.list.length > 1 ? unitName(unit) : '',
          nameTextStyle: { align: i === 0 ? 'left' : 'right' },
          axisLabel: { formatter: valueFormatter(unit), hideOverlap: true },
          // One set of grid lines is enough; the right axis's would not line up.
          splitLine: { show: i === 0, lineStyle: { color: COLOR_GRID } }
        };
      }),
      series: series
    });
    if (partialLabel) {
      body.appendChild(h('p', { class: 'widget-note', text: 'The last period is not over yet and is drawn dashed.' }));
    }
  };

  Board.prototype.drawCohort = function (w, body) {
    var t = w.data.table;
    if (!t || !t.cohorts || t.cohorts.length === 0) {
      if (!w.data.empty) { body.appendChild(h('p', { class: 'widget-empty', text: 'No cohorts in this range yet: send events, or pick a longer range.' })); }
      return;
    }
    var ylabels = t.cohorts.map(function (c) { return periodLabel(c.cohort_start, t.grain) + ' (' + c.size + ')'; });
    var xlabels = [];
    for (var k = 0; k < t.periods; k++) { xlabels.push(String(k)); }
    var data = [];
    t.cohorts.forEach(function (c, y) {
      (c.retained || []).forEach(function (cell) {
        if (cell.percent !== null) { data.push([cell.period, y, Math.round(cell.percent * 10) / 10, cell.users]); }
      });
    });
    var chart = this.chartIn(w, body, 'Cohort retention of ' + w.data.title + ' by ' + t.grain);
    if (!chart) { return; }
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 8, top: 8, bottom: 40, containLabel: true },
      tooltip: { confine: true, position: placeTooltip, formatter: function (p) { return escapeHTML(ylabels[p.value[1]]) + '<br>' + t.grain + ' ' + p.value[0] + ': ' + p.value[2] + '% (' + p.value[3] + ' users)'; } },
      xAxis: { type: 'category', data: xlabels, name: t.grain + 's after', nameLocation: 'middle', nameGap: 24 },
      yAxis: { type: 'category', data: ylabels, inverse: true },
      visualMap: { min: 0, max: 100, show: false, inRange: { color: ['#f7fbff', '#6baed6', '#08306b'] } },
      series: [{ type: 'heatmap', data: data, label: { show: true, formatter: function (p) { return p.value[2] + '%'; }, fontSize: 10 } }]
    });
  };

  Board.prototype.drawFunnel = function (w, body) {
    var t = w.data.table;
    if (!t || !t.steps || t.entered === 0) {
      if (!w.data.empty) { body.appendChild(h('p', { class: 'widget-empty', text: 'Nobody entered this funnel in the range yet: send the first step\'s event, or pick a longer range.' })); }
      return;
    }
    var chart = this.chartIn(w, body, 'Funnel of ' + w.data.title);
    if (!chart) { return; }
    chart.setOption({
      animation: false,
      tooltip: { confine: true, position: placeTooltip, formatter: function (p) { return escapeHTML(p.name) + ': ' + p.value + ' users' + (p.data.pct !== null ? ' (' + p.data.pct + '% of the first step)' : ''); } },
      series: [{
        type: 'funnel', sort: 'none', left: '5%', right: '5%', top: 8, bottom: 8, minSize: '10%', gap: 2,
        label: { show: true, position: 'inside', color: '#fff', formatter: function (p) { return p.name + ': ' + p.value; } },
        data: t.steps.map(function (s, i) {
          var pct = s.conversion_from_first === null || s.conversion_from_first === undefined ? null : Math.round(s.conversion_from_first * 10) / 10;
          return { name: s.event, value: s.users, pct: pct, itemStyle: { color: PALETTE[i % PALETTE.length] } };
        })
      }]
    });
    if (t.conversion !== null && t.conversion !== undefined) {
      body.appendChild(h('p', { class: 'widget-note', text: 'Conversion: ' + Math.round(t.conversion * 10) / 10 + '% of ' + t.entered + ' users who entered.' }));
    }
  };

  Board.prototype.drawBreakdown = function (w, body) {
    var t = w.data.table;
    var segments = (t && t.segments) || [];
    var named = segments.filter(function (s) { return s.name !== NONE_SEGMENT; });
    if (named.length === 0) {
      // Every event of the range lacks the property, so the only segment is
      // (none): one bar would compare nothing.
      if (t && !w.data.empty) { body.appendChild(h('p', { class: 'widget-empty', text: 'No segments yet: no event in the range has the property ' + t.property + '.' })); }
      drawBreakdownNotes(body, t);
      return;
    }
    var format = valueFormatter(w.data.unit);
    var segs = segments.slice().reverse();
    var chart = this.chartIn(w, body, 'Breakdown of ' + w.data.title);
    if (chart) {
      chart.setOption({
        animation: false,
        grid: { left: 8, right: 24, top: 8, bottom: 4, outerBoundsMode: 'same', outerBoundsContain: 'all' },
        tooltip: { trigger: 'axis', confine: true, position: placeTooltip, axisPointer: { type: 'shadow' }, formatter: plainTooltip(format) },
        xAxis: { type: 'value', axisLabel: { formatter: format }, splitLine: { lineStyle: { color: COLOR_GRID } } },
        yAxis: { type: 'category', data: segs.map(function (s) { return s.name; }) },
        series: [{ type: 'bar', name: w.data.title, data: segs.map(function (s) { return s.total.value; }), itemStyle: { color: PALETTE[0] }, label: { show: true, position: 'right', formatter: function (p) { return p.value === null ? '' : format(p.value); } } }]
      });
    }
    drawBreakdownNotes(body, t);
  };

  // drawBreakdownNotes appends a breakdown's warnings and, for each reason a
  // segment's total has no value, the segments it applies to, as the API
  // and report --breakdown return them.
  function drawBreakdownNotes(body, t) {
    if (!t) { return; }
    (t.warnings || []).forEach(function (text) {
      body.appendChild(h('p', { class: 'widget-note widget-warning', text: 'Warning: ' + text }));
    });
    var reasons = [];
    var names = {};
    (t.segments || []).forEach(function (s) {
      if (s.total.value !== null || !s.total.no_value_reason) { return; }
      var reason = s.total.no_value_reason;
      if (!names[reason]) { names[reason] = []; reasons.push(reason); }
      names[reason].push(s.name);
    });
    reasons.forEach(function (reason) {
      body.appendChild(h('p', { class: 'widget-note widget-no-value', text: 'No value for ' + names[reason].join(', ') + ': ' + reason + '.' }));
    });
  }

  Board.prototype.drawObjective = function (w, body) {
    var list = w.data.objective || [];
    if (list.length === 0) { return; }
    var counts = {};
    list.forEach(function (k) { counts[k.status.label] = (counts[k.status.label] || 0) + 1; });
    body.appendChild(h('p', { class: 'objective-summary', text: Object.keys(counts).map(function (l) { return counts[l] + ' ' + l; }).join(', ') }));
    var ul = h('ul', { class: 'objective-kpis' });
    var linked = this.linked;
    list.forEach(function (k) {
      ul.appendChild(h('li', {}, [
        h('span', { class: 'status ' + k.status.class }, [h('span', { class: 'status-icon', 'aria-hidden': 'true', text: k.status.icon }), ' ' + k.status.label]),
        ' ', linked ? h('a', { href: k.href, text: k.name }) : h('span', { text: k.name }),
        h('span', { class: 'objective-value', text: ' ' + k.value })
      ]));
    });
    body.appendChild(ul);
  };

  Board.prototype.drawFeedback = function (w, body) {
    var t = w.data.table;
    if (!t) { return; }
    var items = Array.isArray(t) ? t : null;
    if (!items) {
      Object.keys(t).forEach(function (k) { if (!items && Array.isArray(t[k])) { items = t[k]; } });
    }
    var ul = h('ul', { class: 'feedback-list' });
    (items || []).forEach(function (f) {
      var meta = [f.author, f.source, String(f.date || f.created_at || '').slice(0, 10)].filter(Boolean).join(' · ');
      ul.appendChild(h('li', {}, [h('q', { text: f.text || '' }), meta ? h('span', { class: 'feedback-meta', text: ' ' + meta }) : null]));
    });
    body.appendChild(ul);
  };

  // ---- Live updates ----

  Board.prototype.setLive = function (state, text) {
    var el = $('live-status');
    if (!el) { return; }
    var icons = { live: '●', stale: '!', disconnected: '✕', connecting: '…' };
    el.className = 'live-status live-' + state;
    el.querySelector('.live-icon').textContent = icons[state] || '';
    el.querySelector('.live-text').textContent = text;
    $('board').classList.toggle('board-stale', state === 'stale' || state === 'disconnected');
  };

  Board.prototype.connect = function () {
    var self = this;
    if (this.source) { this.source.close(); }
    if (typeof EventSource === 'undefined') { this.setLive('disconnected', 'This browser cannot receive live updates: reload to see new values'); return; }
    var source = new EventSource(this.config.events_url + this.query());
    this.source = source;
    this.setLive('connecting', 'Connecting for live updates');
    source.addEventListener('open', function () {
      self.lastMessage = Date.now();
      self.setLive('live', 'Live: values update as events arrive');
    });
    source.addEventListener('update', function (e) {
      self.lastMessage = Date.now();
      self.setLive('live', 'Live: values update as events arrive');
      try { self.update(JSON.parse(e.data)); } catch (err) { console.error('northstar: bad live update', err); }
    });
    source.addEventListener('ping', function () {
      self.lastMessage = Date.now();
      self.setLive('live', 'Live: values update as events arrive');
    });
    source.addEventListener('gone', function () {
      source.close();
      self.setLive('disconnected', 'This dashboard was deleted');
    });
    source.addEventListener('error', function () {
      self.setLive('disconnected', 'Disconnected: values may be out of date; reconnecting…');
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(function () { if (self.source === source) { self.connect(); } }, 3000);
      }
    });
    if (!this.staleTimer) {
      this.staleTimer = setInterval(function () {
        if (self.source && self.source.readyState === EventSource.OPEN && Date.now() - self.lastMessage > STALE_AFTER_MS) {
          self.setLive('stale', 'Stale: no word from the server for ' + Math.round((Date.now() - self.lastMessage) / 1000) + ' s; values may be out of date');
        }
      }, 5000);
    }
  };

  // ---- Controls and editing ----

  Board.prototype.initControls = function () {
    var self = this;
    var form = $('controls-form');
    var exportLink = $('export-csv');
    function syncExport() { if (exportLink) { exportLink.href = self.config.export_url + self.query(); } }
    syncExport();
    if (!form) { return; }
    form.elements.grain.value = this.controls.grain;
    form.elements.from.value = this.controls.from;
    form.elements.to.value = this.controls.to;
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var next = { grain: form.elements.grain.value, from: form.elements.from.value, to: form.elements.to.value };
      var saved = self.editable ? api('PATCH', self.config.api_url, next) : Promise.resolve();
      saved.then(function () {
        self.controls = next;
        syncExport();
        showMessage('');
        return self.load().then(function () { self.connect(); });
      }).catch(function (err) { showMessage(err.message, 'error'); });
    });
  };

  Board.prototype.initEditing = function () {
    var self = this;
    var cfg = this.config;
    var form = $('add-widget-form');
    if (!form) { return; }

    var kpis = form.elements.kpis;
    (cfg.kpis || []).forEach(function (k, i) {
      kpis.appendChild(h('option', { value: k.id, selected: i === 0, text: k.name + ' (' + k.metric + ')' }));
    });
    var objective = form.elements.objective;
    (cfg.objectives || []).forEach(function (o) { objective.appendChild(h('option', { value: o.id, text: o.name })); });

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var kind = form.elements.kind.value;
      var body = { kind: kind, options: {} };
      if (kind !== 'objective') {
        body.kpis = Array.prototype.filter.call(kpis.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
        if (kind !== 'chart') { body.kpis = body.kpis.slice(0, 1); }
      }
      if (kind === 'chart') { body.options.chart = form.elements.chart.value; }
      if (kind === 'breakdown') { body.options.by = form.elements.by.value; }
      if (kind === 'objective') { body.options.objective = objective.value; }
      if (form.elements.title.value) { body.options.title = form.elements.title.value; }
      api('POST', cfg.api_url + '/widgets', body).then(function () {
        showMessage('Widget added.', 'ok');
        return self.load();
      }).catch(function (err) { showMessage(err.message, 'error'); });
    });

    $('rename-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var name = e.target.elements.name.value;
      api('PATCH', cfg.api_url, { name: name }).then(function (d) {
        $('board-title').textContent = d.name;
        document.title = d.name + ' · Northstar';
        var crumb = document.querySelector('.breadcrumb [aria-current]');
        if (crumb) { crumb.textContent = d.name; }
        showMessage('Renamed.', 'ok');
      }).catch(function (err) { showMessage(err.message, 'error'); });
    });

    $('duplicate-dashboard').addEventListener('click', function () {
      api('POST', cfg.api_url + '/duplicate').then(function (d) { window.location.assign(d.page); })
        .catch(function (err) { showMessage(err.message, 'error'); });
    });
    $('delete-dashboard').addEventListener('click', function () {
      if (!window.confirm('Delete this dashboard, its widgets and its share links?')) { return; }
      api('DELETE', cfg.api_url).then(function () { window.location.assign('/dashboards'); })
        .catch(function (err) { showMessage(err.message, 'error'); });
    });

    $('create-share-link').addEventListener('click', function () {
      api('POST', cfg.api_url + '/share-links').then(function (link) {
        var url = window.location.origin + link.url;
        var out = $('new-share-link');
        out.hidden = false;
        out.textContent = '';
        out.appendChild(document.createTextNode('New link (copy it now; it is not shown again): '));
        out.appendChild(h('a', { href: link.url, id: 'share-url', text: url }));
        self.loadShareLinks();
      }).catch(function (err) { showMessage(err.message, 'error'); });
    });
    this.loadShareLinks();
  };

  Board.prototype.loadShareLinks = function () {
    var self = this;
    var ul = $('share-links');
    if (!ul) { return; }
    api('GET', this.config.api_url + '/share-links').then(function (body) {
      ul.textContent = '';
      body.share_links.forEach(function (l) {
        var li = h('li', {}, [l.prefix + '… created ' + l.created_at.slice(0, 10) + (l.revoked_at ? ', revoked ' + l.revoked_at.slice(0, 10) : '')]);
        if (!l.revoked_at) {
          var b = h('button', { type: 'button', class: 'danger', text: 'Revoke' });
          b.addEventListener('click', function () {
            api('DELETE', self.config.api_url + '/share-links/' + l.id).then(function () { self.loadShareLinks(); })
              .catch(function (err) { showMessage(err.message, 'error'); });
          });
          li.appendChild(document.createTextNode(' '));
          li.appendChild(b);
        }
        ul.appendChild(li);
      });
    }).catch(function (err) { showMessage(err.message, 'error'); });
  };

  // ---- TV mode ----

  function startTV(config) {
    var rotation = config.rotation || [];
    var i = 0;
    var board = null;
    function show() {
      var next = rotation[i];
      var cfg = Object.assign({}, config, next, { mode: 'tv' });
      if (board && board.source) { board.source.close(); }
      if (!board) {
        board = new Board(cfg);
        board.initGrid();
      } else {
        board.config = cfg;
      }
      board.controls = { grain: '', from: '', to: '' };
      $('board-title').textContent = next.name;
      document.title = next.name + ' · Northstar TV';
      document.body.setAttribute('data-tv-index', String(i));
      board.load().then(function () { board.connect(); });
    }
    show();
    if (rotation.length > 1) {
      setInterval(function () { i = (i + 1) % rotation.length; show(); }, config.seconds * 1000);
    }
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { window.location.assign('/dashboards'); }
    });
    document.addEventListener('click', function () {
      if (document.documentElement.requestFullscreen && !document.fullscreenElement) {
        document.documentElement.requestFullscreen().catch(function () {});
      }
    });
  }

  function start() {
    initCreateForm();
    var block = $('board-config');
    if (!block) { return; }
    var config;
    try { config = JSON.parse(block.textContent); } catch (err) { console.error('northstar: the board configuration is not valid JSON', err); return; }
    if (typeof window.GridStack === 'undefined') {
      showMessage('The grid library is not bundled: run scripts/assets.sh and rebuild.', 'error');
      return;
    }
    document.body.classList.add('has-board', 'mode-' + config.mode);
    if (config.mode === 'tv') { startTV(config); return; }

    var board = new Board(config);
    window.northstarBoard = board;
    board.initGrid();
    board.initControls();
    board.initEditing();
    board.load().then(function () { board.connect(); });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
