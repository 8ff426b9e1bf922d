// The floor map: every hall, its rows and racks, each rack coloured by its inlet air or hottest GPU temperature;
// isolated racks outlined, leaks marked.

import * as api from './api.js';
import { h, s, clear, celsius, watts } from './dom.js';

// Inlet: ASHRAE's recommended envelope is 18–27 °C and class A1 allows up to 32 °C (ASHRAE TC 9.9, Thermal Guidelines
// for Data Processing Environments, 5th ed.). GPU: a scale from idle to the ~90 °C where data-centre GPUs throttle.
const SCALES = {
  inlet: { metric: 'aida_rack_inlet_celsius', min: 18, max: 32, label: 'inlet air' },
  gpu: { metric: 'aida_rack_gpu_max_temperature_celsius', min: 35, max: 90, label: 'hottest GPU' },
};

const STOPS = [[0, [37, 99, 235]], [0.4, [16, 185, 129]], [0.7, [234, 179, 8]], [1, [220, 38, 38]]];

function colour(value, scale) {
  if (!Number.isFinite(value)) return '#9ca3af';
  const f = Math.max(0, Math.min(1, (value - scale.min) / (scale.max - scale.min)));
  let i = 1;
  while (i < STOPS.length - 1 && STOPS[i][0] < f) i++;
  const [f0, c0] = STOPS[i - 1];
  const [f1, c1] = STOPS[i];
  const k = (f - f0) / (f1 - f0);
  return `rgb(${c0.map((c, j) => Math.round(c + (c1[j] - c) * k)).join(',')})`;
}

async function sample() {
  const names = ['inlet', 'gpu', 'power', 'isolated', 'leak', 'paused'];
  const metrics = ['aida_rack_inlet_celsius', 'aida_rack_gpu_max_temperature_celsius', 'aida_rack_power_watts', 'aida_rack_isolated', 'aida_rack_leak_detected', 'aida_rack_workload_paused'];
  const results = await Promise.all(metrics.map((m) => api.query(m).catch(() => [])));
  const racks = new Map();
  results.forEach((result, i) => {
    for (const r of result) {
      const id = r.metric.rack;
      if (!id) continue;
      if (!racks.has(id)) racks.set(id, { id, hall: r.metric.hall ?? '?', row: r.metric.row ?? id.split('-')[1]?.[0] ?? '?' });
      racks.get(id)[names[i]] = Number(r.value[1]);
    }
  });
  return [...racks.values()];
}

function hallMap(hall, racks, scale, key) {
  const rows = new Map();
  for (const r of racks) {
    if (!rows.has(r.row)) rows.set(r.row, []);
    rows.get(r.row).push(r);
  }
  const rowNames = [...rows.keys()].sort();
  for (const n of rowNames) rows.get(n).sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
  const cell = 34;
  const gap = 6;
  const widest = Math.max(...rowNames.map((n) => rows.get(n).length));
  const width = 40 + widest * (cell + gap);
  const height = rowNames.length * (cell + 18) + 10;
  const svg = s('svg', { class: 'floor', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `hall ${hall}` });
  rowNames.forEach((n, ri) => {
    const y = 5 + ri * (cell + 18);
    svg.append(s('text', { x: 4, y: y + cell / 2 + 5, class: 'row-label', text: n }));
    rows.get(n).forEach((r, ci) => {
      const x = 30 + ci * (cell + gap);
      const value = r[key];
      const classes = ['rack', r.isolated > 0 ? 'isolated' : '', r.leak > 0 ? 'leaking' : '', r.paused > 0 ? 'paused' : ''].filter(Boolean).join(' ');
      const g = s('g', { class: classes, 'data-rack': r.id }, [
        s('rect', { x, y, width: cell, height: cell, rx: 4, fill: colour(value, scale) }),
        s('text', { x: x + cell / 2, y: y + cell / 2 + 4, 'text-anchor': 'middle', class: 'rack-value', text: Number.isFinite(value) ? value.toFixed(0) : '–' }),
        s('text', { x: x + cell / 2, y: y + cell + 12, 'text-anchor': 'middle', class: 'rack-id', text: r.id.split('-').pop() }),
        s('title', { text: `${r.id}: inlet ${celsius(r.inlet)}, GPU max ${celsius(r.gpu)}, ${watts(r.power)}${r.isolated > 0 ? ', isolated' : ''}${r.leak > 0 ? ', LEAK detected' : ''}${r.paused > 0 ? ', workload paused' : ''}` }),
      ]);
      if (r.leak > 0) g.append(s('circle', { cx: x + cell - 5, cy: y + 5, r: 4, class: 'leak-mark' }));
      svg.append(g);
    });
  });
  return svg;
}

function scaleLegend(scale) {
  const width = 320;
  const svg = s('svg', { class: 'scale', viewBox: `0 0 ${width} 34`, role: 'img', 'aria-label': 'colour scale' });
  const steps = 32;
  for (let i = 0; i < steps; i++) {
    const v = scale.min + ((scale.max - scale.min) * (i + 0.5)) / steps;
    svg.append(s('rect', { x: 10 + (i * (width - 20)) / steps, y: 4, width: (width - 20) / steps + 0.5, height: 12, fill: colour(v, scale) }));
  }
  svg.append(s('text', { x: 10, y: 30, class: 'strip-label', text: `${scale.min} °C` }));
  svg.append(s('text', { x: width - 10, y: 30, 'text-anchor': 'end', class: 'strip-label', text: `${scale.max} °C` }));
  svg.append(s('text', { x: width / 2, y: 30, 'text-anchor': 'middle', class: 'strip-label', text: scale.label }));
  return svg;
}

export default {
  title: 'Floor',
  mount(root, ctx) {
    let key = 'inlet';
    const maps = h('div', { class: 'halls', id: 'floor-map' });
    const legendBox = h('div', { class: 'scale-box' });
    const summary = h('p', { class: 'muted', id: 'floor-summary' });
    const toggles = Object.entries(SCALES).map(([k, sc]) => h('button', {
      class: `toggle ${k === key ? 'on' : ''}`,
      id: `colour-${k}`,
      text: `colour by ${sc.label}`,
      onclick: () => {
        key = k;
        for (const t of toggles) t.classList.toggle('on', t.id === `colour-${k}`);
        draw();
      },
    }));
    root.append(h('h1', { text: 'Floor map' }), h('div', { class: 'toolbar' }, [...toggles, legendBox]), summary, maps);

    let racks = [];
    const draw = () => {
      const scale = SCALES[key];
      clear(legendBox).append(scaleLegend(scale));
      const halls = new Map();
      for (const r of racks) {
        if (!halls.has(r.hall)) halls.set(r.hall, []);
        halls.get(r.hall).push(r);
      }
      clear(maps);
      if (!racks.length) {
        maps.append(h('p', { class: 'muted', text: 'No rack telemetry yet.' }));
        return;
      }
      for (const hall of [...halls.keys()].sort()) {
        const list = halls.get(hall);
        const hottest = Math.max(...list.map((r) => r[key]).filter(Number.isFinite));
        maps.append(h('section', { class: 'card hall', 'data-hall': hall }, [
          h('h2', { text: `${hall} · ${list.length} racks · ${watts(list.reduce((a, r) => a + (Number.isFinite(r.power) ? r.power : 0), 0))} · hottest ${scale.label} ${celsius(hottest)}` }),
          hallMap(hall, list, scale, key),
        ]));
      }
      const isolated = racks.filter((r) => r.isolated > 0).map((r) => r.id);
      const leaking = racks.filter((r) => r.leak > 0).map((r) => r.id);
      summary.textContent = `${racks.length} racks in ${halls.size} halls` +
        (isolated.length ? ` · isolated: ${isolated.join(', ')}` : '') + (leaking.length ? ` · leak detected: ${leaking.join(', ')}` : '');
    };

    const update = api.throttled(3000, async () => {
      racks = await sample();
      draw();
    });
    ctx.on('overview', update);
    update();
  },
};
