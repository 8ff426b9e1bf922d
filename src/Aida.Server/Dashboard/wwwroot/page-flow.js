// Power and cooling flow: where the facility's power goes (a Sankey diagram of IT, cooling and losses) and the heat's
// path from the racks through the CDUs and the facility water loop to the chillers, dry coolers and the air.

import * as api from './api.js';
import { h, s, clear, watts, celsius, fixed } from './dom.js';

const QUERIES = {
  facility: 'sum(aida_facility_power_watts)',
  it: 'sum(aida_it_power_watts)',
  chillers: 'sum(aida_chiller_power_watts)',
  dryCoolers: 'sum(aida_dry_cooler_fan_power_watts)',
  towers: 'sum(aida_cooling_tower_fan_power_watts)',
  condenserPumps: 'sum(aida_condenser_pump_power_watts)',
  crahs: 'sum(aida_crah_fan_power_watts)',
  cduPumps: 'sum(aida_cdu_pump_power_watts)',
  fwPumps: 'sum(aida_facility_water_pump_power_watts)',
  ups: 'sum(aida_ups_output_power_watts)',
  ambient: 'avg(aida_ambient_dry_bulb_celsius)',
  fwSupply: 'avg(aida_facility_water_supply_celsius)',
  fwReturn: 'avg(aida_facility_water_return_celsius)',
  fwFlow: 'sum(aida_facility_water_flow_kg_per_second)',
  cduSupply: 'avg(aida_cdu_supply_celsius)',
  cduSupplyMax: 'max(aida_cdu_supply_celsius)',
  cduReturn: 'avg(aida_cdu_return_celsius)',
  cduFlow: 'sum(aida_cdu_flow_kg_per_second)',
  inletMax: 'max(aida_rack_inlet_celsius)',
  gpuMax: 'max(aida_rack_gpu_max_temperature_celsius)',
  economiser: 'max(aida_economiser_enabled)',
};

async function sample() {
  const names = Object.keys(QUERIES);
  const results = await Promise.all(names.map((n) => api.query(QUERIES[n]).catch(() => [])));
  const values = {};
  names.forEach((n, i) => { values[n] = results[i][0] ? Number(results[i][0].value[1]) : NaN; });
  return values;
}

/** A two-column Sankey: the facility's power on the left, what it feeds on the right, band widths to scale. */
function sankey(v) {
  const width = 1100;
  const height = 320;
  const cooling = ['chillers', 'condenserPumps', 'dryCoolers', 'towers', 'crahs', 'cduPumps', 'fwPumps'].reduce((a, k) => a + (Number.isFinite(v[k]) ? v[k] : 0), 0);
  const losses = Math.max(0, v.facility - v.it - cooling);
  const flows = [
    { name: 'IT (GPUs, servers)', value: v.it, cls: 'flow-it' },
    { name: 'chillers', value: v.chillers, cls: 'flow-cool' },
    { name: 'condenser water pumps', value: v.condenserPumps, cls: 'flow-cool' },
    { name: 'dry cooler fans', value: v.dryCoolers, cls: 'flow-cool' },
    { name: 'cooling tower fans', value: v.towers, cls: 'flow-cool' },
    { name: 'CRAH fans', value: v.crahs, cls: 'flow-cool' },
    { name: 'CDU pumps', value: v.cduPumps, cls: 'flow-cool' },
    { name: 'facility water pumps', value: v.fwPumps, cls: 'flow-cool' },
    { name: 'UPS, transformers, other', value: losses, cls: 'flow-loss' },
  ].filter((f) => Number.isFinite(f.value) && f.value > 0);
  const svg = s('svg', { class: 'sankey', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'power flow' });
  const total = flows.reduce((a, f) => a + f.value, 0);
  if (!(total > 0)) {
    svg.append(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'chart-empty', text: 'no data yet' }));
    return svg;
  }
  const gap = 6;
  const usable = height - 20 - gap * (flows.length - 1);
  const scale = usable / total;
  const srcX = 200;
  const dstX = 700;
  let labelY = 0;
  let srcY = 10 + (gap * (flows.length - 1)) / 2;
  let dstY = 10;
  svg.append(s('rect', { x: srcX - 14, y: srcY, width: 14, height: total * scale, class: 'sankey-node' }));
  svg.append(s('text', { x: srcX - 20, y: srcY + (total * scale) / 2 - 6, 'text-anchor': 'end', class: 'sankey-label', text: 'facility' }));
  svg.append(s('text', { x: srcX - 20, y: srcY + (total * scale) / 2 + 12, 'text-anchor': 'end', class: 'sankey-value', text: watts(v.facility) }));
  for (const f of flows) {
    const w = f.value * scale;
    const mid = (srcX + dstX) / 2;
    const d = `M${srcX},${srcY} C${mid},${srcY} ${mid},${dstY} ${dstX},${dstY} L${dstX},${dstY + w} C${mid},${dstY + w} ${mid},${srcY + w} ${srcX},${srcY + w} Z`;
    svg.append(s('path', { d, class: `sankey-band ${f.cls}` }, [s('title', { text: `${f.name}: ${watts(f.value)}` })]));
    svg.append(s('rect', { x: dstX, y: dstY, width: 14, height: Math.max(1, w), class: `sankey-node ${f.cls}` }));
    // Thin bands sit closer together than a line of text: push each label below the one before.
    labelY = Math.max(dstY + w / 2 + 4, labelY + 16);
    svg.append(s('text', { x: dstX + 22, y: labelY, class: 'sankey-label', text: `${f.name}  ${watts(f.value)}  (${((f.value / total) * 100).toFixed(1)} %)` }));
    srcY += w;
    dstY += w + gap;
  }
  return svg;
}

/** The cooling chain as boxes joined by arrows, each box with its temperatures and flow. */
function coolingChain(v) {
  const width = 1100;
  const height = 200;
  const boxes = [
    { title: 'Racks', lines: [`inlet max ${celsius(v.inletMax)}`, `GPU max ${celsius(v.gpuMax)}`, `heat ${watts(v.it)}`] },
    { title: 'CDUs (liquid)', lines: [`supply ${celsius(v.cduSupply)}`, `hottest ${celsius(v.cduSupplyMax)}`, `return ${celsius(v.cduReturn)}`, `flow ${fixed(v.cduFlow, 0)} kg/s`] },
    { title: 'Facility water', lines: [`supply ${celsius(v.fwSupply)}`, `return ${celsius(v.fwReturn)}`, `flow ${fixed(v.fwFlow, 0)} kg/s`] },
    { title: v.economiser > 0 ? 'Dry coolers (economiser on)' : 'Chillers + dry coolers', lines: [`chillers ${watts(v.chillers)}`, `fans ${watts(v.dryCoolers)}`, `pumps ${watts(v.fwPumps)}`] },
    { title: 'Outside air', lines: [`dry bulb ${celsius(v.ambient)}`] },
  ];
  const svg = s('svg', { class: 'chain', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'cooling chain' });
  svg.append(s('defs', {}, [s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' }, [s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' })])]));
  const bw = 180;
  const step = (width - bw) / (boxes.length - 1);
  boxes.forEach((b, i) => {
    const x = i * step;
    svg.append(s('rect', { x: x + 1, y: 30, width: bw - 2, height: 130, rx: 8, class: `chain-box chain-${i}` }));
    svg.append(s('text', { x: x + bw / 2, y: 52, 'text-anchor': 'middle', class: 'chain-title', text: b.title }));
    b.lines.forEach((line, j) => svg.append(s('text', { x: x + bw / 2, y: 76 + j * 20, 'text-anchor': 'middle', class: 'chain-line', text: line })));
    if (i < boxes.length - 1) {
      svg.append(s('line', { x1: x + bw + 2, y1: 85, x2: x + step - 4, y2: 85, class: 'chain-arrow', 'marker-end': 'url(#arrow)' }));
    }
  });
  svg.append(s('text', { x: width / 2, y: 190, 'text-anchor': 'middle', class: 'chain-caption', text: 'heat moves left to right: racks → coolant → facility water → heat rejection → air' }));
  return svg;
}

// Redundancy of each group of units that share a load (the chillers, a hall's CDUs, a UPS pair): N+k at its present
// load and why (GET /api/redundancy: the units in fault, in maintenance or locked out counted out, as on-call reads
// it); short in red, N in amber. The economiser's units count at the weather: what they cannot take the chillers make
// up (energy, not cooling), so their short is amber and ranks with N.
const KIND_NAMES = { chiller: 'chillers', 'dry-cooler': 'dry coolers', 'cooling-tower': 'cooling towers', cdu: 'CDUs', crah: 'CRAHs', busway: 'busways', ups: 'UPSs', transformer: 'transformers' };
function redundancy(answer) {
  const groups = answer?.groups ?? [];
  if (!groups.length) return h('p', { class: 'muted', id: 'no-redundancy', text: 'no group of units to judge' });
  // Listed least redundant first by the API.
  const rows = groups.map((g) => ({ ...g, rank: g.spare === null ? Infinity : g.made_up_by ? Math.max(g.spare, 0) : g.spare }));
  const said = (r) => (r.spare === null ? 'not measured' : r.spare < 0 ? (r.made_up_by ? `short: ${r.made_up_by} make it up` : 'short') : r.spare === 0 ? 'N' : `N+${r.spare}`);
  const tone = (r) => (r.rank === Infinity ? 'muted' : r.rank < 0 ? 'risk-high' : r.rank === 0 ? 'risk-medium' : 'risk-low');
  return h('table', { class: 'grid compact', id: 'redundancy-table' }, [
    h('thead', {}, [h('tr', {}, ['units', 'where', 'at the present load', 'why'].map((t) => h('th', { text: t })))]),
    h('tbody', {}, rows.map((r) => h('tr', { class: 'redundancy-row', 'data-kind': r.kind, 'data-scope': r.scope }, [
      h('td', { text: KIND_NAMES[r.kind] ?? r.kind }),
      h('td', { text: r.scope }),
      h('td', {}, [h('span', { class: `pill ${tone(r)}`, text: said(r) })]),
      h('td', { class: 'redundancy-said', text: r.said }),
    ]))),
  ]);
}

export default {
  title: 'Power & cooling',
  mount(root, ctx) {
    const powerBox = h('div', { class: 'chart-box', id: 'power-flow' });
    const coolingBox = h('div', { class: 'chart-box', id: 'cooling-flow' });
    const summary = h('p', { class: 'muted', id: 'flow-summary' });
    const spare = h('div', { id: 'redundancy' });
    root.append(
      h('h1', { text: 'Power and cooling flow' }),
      summary,
      h('section', { class: 'card' }, [h('h2', { text: 'Where the facility power goes' }), powerBox]),
      h('section', { class: 'card' }, [h('h2', { text: 'Cooling chain' }), coolingBox]),
      h('section', { class: 'card' }, [h('h2', { text: 'Redundancy' }), spare]),
    );
    const update = api.throttled(2000, async () => {
      const v = await sample();
      summary.textContent = `facility ${watts(v.facility)}, IT ${watts(v.it)}, PUE ${fixed(v.facility / v.it, 3)}`;
      clear(powerBox).append(sankey(v));
      clear(coolingBox).append(coolingChain(v));
    });
    // Worked out on the server at each call (a query per group): every 10 s is enough for what moves by the minute.
    const updateRedundancy = api.throttled(10000, async () => {
      const answer = await api.get('/api/redundancy').catch((e) => e);
      clear(spare).append(answer instanceof Error
        ? h('p', { class: 'muted', id: 'no-redundancy', text: `not read: ${answer.message}` })
        : redundancy(answer));
    });
    ctx.on('overview', () => { update(); updateRedundancy(); });
    update();
    updateRedundancy();
  },
};
