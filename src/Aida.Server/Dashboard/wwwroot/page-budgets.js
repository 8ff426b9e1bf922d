// Error budgets: each SLO's objective, attainment, budget left, burn rates and alerts; budget remaining over the last
// two plant hours (recorded in the run's telemetry, aida_slo_error_budget_remaining_ratio); and the efficiency envelope
// it grants.

import * as api from './api.js';
import { h, clear, percent, fixed, duration, bar, budgetTone, celsius, plantTime } from './dom.js';
import { lineChart, legend } from './chart.js';

const WINDOW = 2 * 3600;

function burnCell(rate) {
  const tone = rate === null || rate === undefined ? 'none' : rate >= 14.4 ? 'bad' : rate >= 1 ? 'warn' : 'good';
  return h('td', { class: `num tone-${tone}`, text: rate === null || rate === undefined ? '–' : `${fixed(rate, 2)}×` });
}

export default {
  title: 'Budgets',
  mount(root, ctx) {
    const envelope = h('section', { class: 'card', id: 'efficiency' });
    const table = h('div', { id: 'slo-table' });
    const excluded = h('div', { id: 'excluded-readings' });
    const history = h('div', { class: 'chart-box', id: 'budget-history' });
    const stamp = h('p', { class: 'muted', id: 'slo-at' });
    root.append(
      h('h1', { text: 'Error budgets' }),
      stamp,
      envelope,
      h('section', { class: 'card' }, [h('h2', { text: 'SLOs' }), table]),
      h('section', { class: 'card' }, [
        h('h2', { text: 'Readings left out' }),
        h('p', { class: 'muted', text: 'Sensors found lying (by the agent, or filed by a person): their slices count neither as good nor in the total of the SLOs that read them.' }),
        excluded,
      ]),
      h('section', { class: 'card' }, [
        h('h2', { text: 'Budget remaining over time' }),
        h('p', { class: 'muted', text: 'The last two plant hours, as the run records them once a plant minute (aida_slo_error_budget_remaining_ratio); below 0 is overspent.' }),
        history,
      ]),
    );

    const show = (report) => {
      if (!report) return;
      if (report.missing) {
        clear(table).append(h('p', { text: `No SLOs: ${report.missing}` }));
        return;
      }
      stamp.textContent = `as of plant time ${plantTime(report.at)} (evaluated at most once a plant minute)`;
      const e = report.efficiency;
      clear(envelope).append(
        h('h2', { text: 'Efficiency envelope' }),
        h('div', { class: 'envelope' }, [
          h('div', {}, [h('div', { class: 'tile-label', text: 'cooling regime' }), h('div', { class: `tile-value regime-${e.regime}`, id: 'regime', text: e.regime })]),
          h('div', {}, [h('div', { class: 'tile-label', text: 'UPS eco (power regime)' }), h('div', { class: `tile-value regime-${e.power.regime}`, id: 'power-regime', text: e.power.regime })]),
          h('div', {}, [h('div', { class: 'tile-label', text: 'max facility water supply' }), h('div', { class: 'tile-value', text: celsius(e.max_facility_water_supply_celsius) })]),
          h('div', {}, [h('div', { class: 'tile-label', text: 'max CDU supply' }), h('div', { class: 'tile-value', text: celsius(e.max_cdu_supply_celsius) })]),
          h('div', {}, [h('div', { class: 'tile-label', text: 'headroom' }), h('div', { class: 'tile-value', text: percent(e.headroom) }), bar(e.headroom, budgetTone(e.headroom))]),
        ]),
        h('p', { class: 'reason', id: 'efficiency-reason', text: `cooling: ${e.reason}${e.limiting_slo ? ` (limited by ${e.limiting_slo})` : ''}${e.page_human ? ' · a human is paged' : ''}` }),
        h('p', { class: 'reason', id: 'power-reason', text: `power: ${e.power.reason}${e.power.limiting_slo ? ` (limited by ${e.power.limiting_slo})` : ''}` }),
      );
      const windows = [...new Set(report.slos.flatMap((x) => Object.keys(x.burn_rates)))];
      clear(table).append(h('table', { class: 'grid' }, [
        h('thead', {}, [h('tr', {}, [
          h('th', { text: 'SLO' }), h('th', { text: 'service' }), h('th', { class: 'num', text: 'objective' }), h('th', { class: 'num', text: 'attained' }),
          h('th', { text: 'budget remaining' }), ...windows.map((w) => h('th', { class: 'num', text: `burn ${w}` })),
          h('th', { class: 'num', text: 'exhausted in' }), h('th', { text: 'alerts firing' }),
        ])]),
        h('tbody', {}, report.slos.map((x) => h('tr', { class: 'slo-row', 'data-slo': x.name }, [
          h('td', { class: 'strong', text: x.name }),
          h('td', { text: x.service }),
          h('td', { class: 'num', text: percent(x.objective, 2) }),
          h('td', { class: 'num', text: x.has_data === false ? 'no data' : percent(x.attained, 3) }),
          h('td', { class: 'budget-cell' }, [bar(x.budget_remaining, budgetTone(x.budget_remaining)), h('span', { class: 'num', text: percent(x.budget_remaining) })]),
          ...windows.map((w) => burnCell(x.burn_rates[w])),
          h('td', { class: 'num', text: duration(x.time_to_exhaustion_seconds) }),
          h('td', {}, x.firing_alerts.length ? x.firing_alerts.map((a) => h('span', { class: `pill sev-${a.severity}`, text: a.name })) : '–'),
        ]))),
      ]));

      const left = report.excluded_readings ?? [];
      clear(excluded).append(left.length === 0 ? h('p', { text: 'none' }) : h('table', { class: 'grid' }, [
        h('thead', {}, [h('tr', {}, [h('th', { text: 'reading' }), h('th', { text: 'from' }), h('th', { text: 'until' }), h('th', { text: 'why' })])]),
        h('tbody', {}, left.map((x) => h('tr', { class: 'excluded-row' }, [
          h('td', { class: 'strong', text: x.series }),
          h('td', { text: plantTime(x.from) }),
          h('td', { text: x.until ? plantTime(x.until) : 'still out' }),
          h('td', { text: x.reason }),
        ]))),
      ]));

      drawHistory();
    };

    // Read from the store as of the newest report, one read at a time (the report comes every few seconds).
    const drawHistory = api.throttled(0, async () => {
      try {
        const end = Date.parse(ctx.state.slos.at) / 1000;
        const recorded = await api.queryRange('aida_slo_error_budget_remaining_ratio', end - WINDOW, end, 60);
        const series = recorded
          .sort((a, b) => a.metric.slo.localeCompare(b.metric.slo))
          .map((x, i) => ({ name: x.metric.slo, cls: `series-${i % 6}`, points: x.points }));
        const lowest = Math.min(0, ...series.flatMap((x) => x.points.map(([, v]) => v)));
        clear(history).append(
          lineChart(series, { yMin: lowest < 0 ? undefined : 0, yMax: 1, format: (v) => `${Math.round(v * 100)} %`, label: 'budget remaining over time' }),
          legend(series),
        );
      } catch (e) {
        clear(history).append(h('p', { class: 'error', id: 'budget-history-unread', text: `The budgets' history could not be read: ${e.message}` }));
      }
    });
    ctx.on('slos', show);
    show(ctx.state.slos);
  },
};
