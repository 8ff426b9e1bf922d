// Overview: PUE now and over the last two plant hours, IT and facility power, the operating mode, the budgets' state,
// and on a site over the network its field devices: how many answer, and those down or back from an outage or a restart.

import * as api from './api.js';
import { h, clear, watts, wattsTick, decimalTick, fixed, percent, budgetTone, plantTime } from './dom.js';
import { lineChart, legend } from './chart.js';

const WINDOW = 2 * 3600;

function tile(id, label) {
  const value = h('div', { class: 'tile-value', id });
  const note = h('div', { class: 'tile-note', id: `${id}-note` });
  return { element: h('section', { class: 'tile' }, [h('div', { class: 'tile-label', text: label }), value, note]), value, note };
}

export default {
  title: 'Overview',
  mount(root, ctx) {
    const pue = tile('pue-value', 'PUE now');
    const it = tile('it-power', 'IT power');
    const facility = tile('facility-power', 'Facility power');
    const mode = tile('mode', 'Operating mode');
    const budget = tile('budget-status', 'Error budgets');
    const work = tile('open-work', 'Open incidents · pending actions');
    const devices = tile('devices', 'Field devices answering');
    const deviceList = h('div', { id: 'device-list' });
    const pueChart = h('div', { class: 'chart-box', id: 'pue-chart' });
    const powerChart = h('div', { class: 'chart-box', id: 'power-chart' });
    root.append(
      h('h1', { text: 'Overview' }),
      h('div', { class: 'tiles' }, [pue, it, facility, mode, budget, work, devices].map((t) => t.element)),
      h('section', { class: 'card' }, [h('h2', { text: 'PUE, last two plant hours' }), pueChart]),
      h('section', { class: 'card' }, [h('h2', { text: 'IT and facility power' }), powerChart]),
      h('section', { class: 'card' }, [h('h2', { text: 'Field devices down or back' }), deviceList]),
    );

    // Series in plant seconds: a range query fills the window once, then each overview event adds a point.
    const series = { pue: [], it: [], facility: [] };
    let loaded = false;

    const draw = () => {
      const pueSeries = [{ name: 'PUE', points: series.pue, cls: 'series-0' }];
      clear(pueChart).append(lineChart(pueSeries, { format: (v, step) => decimalTick(v, step, 2), label: 'PUE over time' }));
      const powerSeries = [
        { name: 'facility power', points: series.facility, cls: 'series-1' },
        { name: 'IT power', points: series.it, cls: 'series-2' },
      ];
      clear(powerChart).append(lineChart(powerSeries, { format: wattsTick, yMin: 0, label: 'power over time' }), legend(powerSeries));
    };

    const load = async (at) => {
      loaded = true;
      const end = Date.parse(at) / 1000;
      const start = end - WINDOW;
      const step = 60;
      const [p, i, f] = await Promise.all([
        api.queryRange('aida_pue', start, end, step),
        api.queryRange('aida_it_power_watts', start, end, step),
        api.queryRange('aida_facility_power_watts', start, end, step),
      ]).catch(() => [[], [], []]);
      const merge = (target, fetched) => {
        const live = target.splice(0);
        target.push(...(fetched[0]?.points ?? []).filter(([t]) => !live.length || t < live[0][0]), ...live);
      };
      merge(series.pue, p);
      merge(series.it, i);
      merge(series.facility, f);
      draw();
    };

    const showOverview = (o) => {
      if (!o) return;
      pue.value.textContent = fixed(o.pue, 3);
      pue.note.textContent = 'facility power ÷ IT power';
      it.value.textContent = watts(o.it_power_watts);
      facility.value.textContent = watts(o.facility_power_watts);
      // Not 0 W when neither is read (every meter down): null - null is 0 in JavaScript.
      const losses = o.facility_power_watts === null || o.it_power_watts === null ? null : o.facility_power_watts - o.it_power_watts;
      facility.note.textContent = `cooling and losses ${watts(losses)}`;
      mode.value.textContent = o.mode;
      mode.note.textContent = `scenario ${o.scenario}`;
      work.value.textContent = `${o.open_incidents} · ${o.pending_actions + (o.pending_runbooks ?? 0)}`;
      // With the control loop stalled holding the plant's lock, the runbooks waiting are as last read.
      const stale = (o.stale ?? []).includes('pending_runbooks');
      work.note.textContent = `${o.audit_entries} audit entries${stale ? ' · runbooks waiting as last read' : ''}`;
      const t = Date.parse(o.at) / 1000;
      for (const [k, v] of [['pue', o.pue], ['it', o.it_power_watts], ['facility', o.facility_power_watts]]) {
        const points = series[k];
        if (!points.length || points[points.length - 1][0] < t) points.push([t, v]);
        while (points.length && points[0][0] < t - WINDOW) points.shift();
      }
      if (!loaded) load(o.at);
      else draw();
    };

    const showBudgets = (report) => {
      if (!report) return;
      if (report.missing) {
        budget.value.textContent = 'none';
        budget.note.textContent = report.missing;
        return;
      }
      const known = report.slos.filter((x) => x.budget_remaining !== null);
      const worst = known.reduce((a, b) => (a && a.budget_remaining <= b.budget_remaining ? a : b), null);
      const firing = report.slos.reduce((n, x) => n + x.firing_alerts.length, 0);
      budget.value.textContent = report.efficiency.regime;
      budget.value.className = `tile-value regime-${report.efficiency.regime}`;
      budget.note.textContent = worst
        ? `lowest: ${worst.name} ${percent(worst.budget_remaining)} left${firing ? ` · ${firing} burn alerts firing` : ''}`
        : 'no data yet';
      budget.note.className = `tile-note tone-${budgetTone(worst?.budget_remaining)}`;
    };

    // Down first, then the last back (GET /api/devices orders them so); those answering throughout are only counted.
    const showDevices = (d) => {
      if (!d.polled) {
        devices.value.textContent = '–';
        devices.note.textContent = 'the embedded twin: no field devices';
        clear(deviceList).append(h('p', { class: 'muted', text: 'The embedded twin is not polled over the wire.' }));
        return;
      }
      devices.value.textContent = `${d.up} / ${d.up + d.down}`;
      devices.value.className = `tile-value tone-${d.down ? 'bad' : 'good'}`;
      devices.note.textContent = `${d.down} down · ${d.restarted} found restarted`;
      const shown = d.devices.filter((x) => !x.up || x.last_return);
      clear(deviceList).append(shown.length
        ? h('table', { class: 'grid compact' }, [
          h('thead', {}, [h('tr', {}, ['device', 'protocol', 'state', 'errors', 'restarts', 'last back'].map((t) => h('th', { text: t })))]),
          h('tbody', {}, shown.map((x) => h('tr', { class: 'device-row', 'data-device': x.device, 'data-up': String(x.up) }, [
            h('td', { text: x.device }),
            h('td', { text: x.collector }),
            h('td', {}, [h('span', { class: `pill ${x.up ? 'state-resolved' : 'state-open'}`, text: x.up ? 'answering' : `down since ${plantTime(x.down_since)}` })]),
            h('td', { class: 'num', text: String(x.errors) }),
            h('td', { class: 'num', text: String(x.restarts) }),
            h('td', { text: x.last_return ? x.last_return.how : '–' }),
          ]))),
        ])
        : h('p', { class: 'muted', text: 'Every device has answered every poll.' }));
    };
    const loadDevices = () => api.get('/api/devices').then(showDevices).catch(() => {});
    loadDevices();
    const polling = setInterval(loadDevices, 10000);

    ctx.on('overview', showOverview);
    ctx.on('slos', showBudgets);
    showOverview(ctx.state.overview);
    showBudgets(ctx.state.slos);
    draw();
    return () => clearInterval(polling);
  },
};
