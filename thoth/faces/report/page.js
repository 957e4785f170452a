// Draws every chart from the specs in #vega-specs with the inlined Vega-Embed, then keeps them
// on one unit: the <select>, or #unit=<unit_id> in the address (so a view can be linked).
// When all charts are drawn it says so in the title and in body[data-status], which the
// Chromium test reads; each figure's data-marks counts the values it shows.
(function () {
  var specs = JSON.parse(document.getElementById('vega-specs').textContent);
  var select = document.getElementById('unit');
  var views = [];
  // A mark that shows values: Vega labels each with them (axes and legends aside).
  var MARKS = 'svg [role="graphics-symbol"]:not([aria-roledescription="axis"])' +
    ':not([aria-roledescription="legend"])';

  function chosen() {
    var m = location.hash.match(/unit=([^&]+)/);
    return m ? decodeURIComponent(m[1]) : 'all';
  }

  function count() {
    var figures = document.querySelectorAll('figure[data-kpi]');
    var drawn = 0, empty = 0;
    figures.forEach(function (f) {
      var marks = f.querySelectorAll(MARKS).length;
      f.setAttribute('data-marks', String(marks));
      var note = f.querySelector('.empty');
      if (note) { note.hidden = marks > 0; }
      if (f.querySelector('svg')) { drawn++; }
      if (marks === 0) { empty++; }
    });
    return {figures: figures.length, drawn: drawn, empty: empty};
  }

  function show(unit) {
    select.value = unit;
    if (select.value !== unit) { unit = 'all'; select.value = 'all'; }
    document.body.setAttribute('data-unit', unit);
    return Promise.all(views.filter(function (v) { return v.perUnit; }).map(function (v) {
      return v.view.signal('unit', unit).runAsync();
    })).then(count);
  }

  var ids = Object.keys(specs);
  Promise.all(ids.map(function (id) {
    var box = document.getElementById(id);
    return vegaEmbed(box, specs[id], {renderer: 'svg', actions: false}).then(function (r) {
      views.push({view: r.view, perUnit: box.getAttribute('data-per-unit') === 'true'});
    });
  })).then(function () {
    return show(chosen());
  }).then(function (c) {
    var expected = document.querySelectorAll('figure[data-chart]').length;
    var status = c.drawn === expected ? 'ok' : 'broken';
    document.body.setAttribute('data-charts', String(c.drawn));
    document.body.setAttribute('data-status', status);
    document.title = 'Thoth KPI report: ' + c.drawn + ' of ' + expected + ' charts (' + status + ')';
  }).catch(function (e) {
    document.body.setAttribute('data-status', 'broken');
    document.body.setAttribute('data-error', String(e));
    document.title = 'Thoth KPI report (broken: ' + e + ')';
  });

  select.addEventListener('change', function () {
    history.replaceState(null, '', '#unit=' + encodeURIComponent(select.value));
    show(select.value);
  });
  window.addEventListener('hashchange', function () { show(chosen()); });
})();
