// Incidents: the list, and one incident's timeline, ranked root cause with its evidence, and the signals of the assets
// it involves around the time it opened.

import * as api from './api.js';
import { h, s, clear, plantTime, duration, bar, fixed, wattsTick, decimalTick, lockoutHeld } from './dom.js';
import { lineChart, legend } from './chart.js';

const RACK = /^h\d+-[a-z]\d+$/;
const UNITS = /_(celsius|watts|kg_per_second|detected|enabled|isolated|paused)$/;

function list(root, ctx) {
  const body = h('div', { id: 'incident-list' });
  root.append(h('h1', { text: 'Incidents' }), h('section', { class: 'card' }, [body]));
  const show = (incidents) => {
    if (!incidents) return;
    if (!incidents.length) {
      clear(body).append(h('p', { class: 'muted', id: 'no-incidents', text: 'No incidents in this run.' }));
      return;
    }
    const sorted = [...incidents].sort((a, b) => String(b.opened).localeCompare(String(a.opened)));
    clear(body).append(h('table', { class: 'grid clickable' }, [
      h('thead', {}, [h('tr', {}, ['#', 'state', 'severity', 'title', 'opened'].map((t) => h('th', { text: t })))]),
      h('tbody', {}, sorted.map((i) => h('tr', {
        class: 'incident-row',
        'data-id': i.id,
        onclick: () => { location.hash = `#incidents/${encodeURIComponent(i.id)}`; },
      }, [
        h('td', {}, [h('a', { href: `#incidents/${encodeURIComponent(i.id)}`, text: String(i.id) })]),
        h('td', {}, [h('span', { class: `pill state-${i.state}`, text: i.state })]),
        h('td', {}, [h('span', { class: `pill sev-${i.severity}`, text: i.severity ?? '–' })]),
        h('td', {}, [h('span', { class: 'strong', text: i.title }), ...(i.locked_out ?? []).map((a) => h('span', { class: 'pill risk-high locked-out', title: 'locked out: its work may have raised this', text: `${a} locked out` }))]),
        h('td', { text: plantTime(i.opened) }),
      ]))),
    ]));
  };
  ctx.on('incidents', show);
  show(ctx.state.incidents);
}

function timelineStrip(incident, end) {
  const width = 900;
  const height = 70;
  const t0 = Date.parse(incident.opened) / 1000;
  const times = incident.timeline.map((e) => Date.parse(e.at) / 1000);
  const t1 = Math.max(end, ...times, t0 + 60);
  const x = (t) => 20 + ((t - t0) / (t1 - t0)) * (width - 40);
  const svg = s('svg', { class: 'timeline-strip', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'incident timeline' });
  svg.append(s('line', { x1: 20, x2: width - 20, y1: 35, y2: 35, class: 'strip-axis' }));
  incident.timeline.forEach((e, i) => {
    const cx = x(times[i]);
    svg.append(s('circle', { cx, cy: 35, r: 6, class: `strip-mark kind-${e.kind}` }, [s('title', { text: `${plantTime(e.at)} ${e.kind}: ${e.text}` })]));
  });
  svg.append(s('text', { x: 20, y: 62, class: 'strip-label', text: plantTime(t0).slice(11) }));
  svg.append(s('text', { x: width - 20, y: 62, 'text-anchor': 'end', class: 'strip-label', text: `${plantTime(t1).slice(11)} (${duration(t1 - t0)})` }));
  return svg;
}

async function signals(box, incident, now) {
  const ranked = incident.root_cause?.ranked ?? [];
  const assets = [...new Set([...ranked.map((r) => r.asset), ...Object.keys(incident.assets ?? {})])].slice(0, 3);
  const opened = Date.parse(incident.opened) / 1000;
  const stop = incident.resolved ? Date.parse(incident.resolved) / 1000 + 1800 : now;
  const start = opened - 1800;
  const end = Math.max(start + 600, Math.min(stop, now));
  const step = Math.max(15, Math.ceil((end - start) / 240));
  const charts = [];
  for (const asset of assets) {
    const selector = RACK.test(asset) ? `{rack="${asset}"}` : `{asset="${asset}"}`;
    const result = await api.queryRange(selector, start, end, step).catch(() => []);
    const byName = new Map();
    for (const serie of result) {
      const name = serie.metric.__name__ ?? '';
      if (!UNITS.test(name)) continue;
      if (!byName.has(name)) byName.set(name, []);
      if (byName.get(name).length < 4) byName.get(name).push(serie);
    }
    for (const [name, list] of byName) charts.push({ asset, name, list });
  }
  clear(box);
  if (!charts.length) {
    box.append(h('p', { class: 'muted', text: 'No signals found for the assets involved.' }));
    return;
  }
  for (const c of charts.slice(0, 8)) {
    const series = c.list.map((x, i) => ({
      name: Object.entries(x.metric).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}=${v}`).join(' ') || c.name,
      points: x.points,
      cls: `series-${i % 6}`,
    }));
    box.append(h('div', { class: 'signal' }, [
      h('h3', { text: `${c.asset} · ${c.name.replace(/^aida_/, '')}` }),
      lineChart(series, { width: 560, height: 180, format: c.name.endsWith('_watts') ? wattsTick : decimalTick, label: c.name }),
      series.length > 1 ? legend(series) : null,
    ]));
  }
}

// A person moves the incident forward, with an optional note on its timeline as theirs (an operator or above; POST
// /api/incidents/{id}/acknowledge, /mitigate or /resolve, audited): only to the states ahead of where it is.
const STATE_RANK = { open: 0, acknowledged: 1, mitigated: 2, resolved: 3 };
const MOVES = [
  { verb: 'acknowledge', to: 'acknowledged', text: 'Acknowledge', title: 'Someone is on it' },
  { verb: 'mitigate', to: 'mitigated', text: 'Mark mitigated', title: 'The impact is contained' },
  { verb: 'resolve', to: 'resolved', text: 'Resolve', title: 'It is over' },
];
function moveControls(incident, ctx, onDone) {
  const ahead = MOVES.filter((m) => STATE_RANK[m.to] > STATE_RANK[incident.state]);
  if (!ahead.length) return null;
  const allowed = ctx.user.role !== 'viewer';
  const note = h('input', { type: 'text', class: 'note', placeholder: 'note (optional)', 'aria-label': `note for incident ${incident.id}` });
  const message = h('span', { class: 'error' });
  const buttons = ahead.map((m) => h('button', {
    class: `move-${m.verb}${m.verb === 'acknowledge' ? '' : ' secondary'}`,
    disabled: !allowed,
    title: allowed ? m.title : 'Your role may not change incidents',
    text: m.text,
    onclick: async () => {
      for (const b of buttons) b.disabled = true;
      message.textContent = '';
      try {
        const text = note.value.trim();
        await api.post(`/api/incidents/${encodeURIComponent(incident.id)}/${m.verb}`, text ? { note: text } : {});
        note.value = ''; // on the timeline now: not carried into the next move
        onDone();
      } catch (e) {
        message.textContent = e.message;
        for (const b of buttons) b.disabled = false;
      }
    },
  }));
  return h('div', { class: 'pending-do', id: 'incident-moves' }, allowed ? [note, ...buttons, message] : [...buttons, h('span', { class: 'muted', text: ` you are a ${ctx.user.role}: viewing only` })]);
}

function detail(root, ctx, id) {
  const head = h('div', { id: 'incident-head' });
  const rootCause = h('section', { class: 'card', id: 'root-cause' });
  const timeline = h('section', { class: 'card', id: 'timeline' });
  const signalBox = h('div', { class: 'signals', id: 'signals', text: 'Loading signals…' });
  root.append(
    h('p', {}, [h('a', { href: '#incidents', text: '← all incidents' })]),
    head,
    rootCause,
    timeline,
    h('section', { class: 'card' }, [h('h2', { text: 'Correlated signals' }), h('p', { class: 'muted', text: 'The involved assets\' series from 30 min before the incident opened.' }), signalBox]),
  );
  let signalsDrawn = false;
  let current = null;

  const load = async () => {
    let incident;
    try {
      incident = await api.get(`/api/incidents/${encodeURIComponent(id)}`);
    } catch (e) {
      clear(head).append(h('h1', { text: `Incident ${id}` }), h('p', { class: 'error', text: e.message }));
      return;
    }
    // The head is drawn again at every incidents or actions event: a note being typed is kept, with its focus.
    const typing = head.querySelector('#incident-moves input.note');
    const typed = typing?.value ?? '';
    const focused = typing !== null && document.activeElement === typing;
    clear(head).append(
      h('h1', { id: 'incident-title' }, [`#${incident.id} ${incident.title} `, h('span', { class: `pill state-${incident.state}`, text: incident.state }), ' ', h('span', { class: `pill sev-${incident.severity}`, text: incident.severity ?? '' })]),
      h('dl', { class: 'facts' }, [
        h('dt', { text: 'opened' }), h('dd', { text: plantTime(incident.opened) }),
        h('dt', { text: 'last alert' }), h('dd', { text: plantTime(incident.last_alert) }),
        h('dt', { text: 'resolved' }), h('dd', { text: incident.resolved ? plantTime(incident.resolved) : 'not yet' }),
        h('dt', { text: 'alerts' }), h('dd', { text: String(incident.alert_count) }),
        h('dt', { text: 'assets' }), h('dd', {}, Object.entries(incident.assets ?? {}).map(([a, n]) => h('span', { class: 'pill', text: `${a} ×${n}` }))),
        // An asset a person holds locked out: the work on it may be what raised this incident; Aida writes none of it.
        ...(incident.lockouts?.length ? [h('dt', { text: 'locked out' }), h('dd', { id: 'incident-lockouts' }, incident.lockouts.map((l) => h('div', {
          class: 'incident-lockout',
          text: `${l.asset} ${lockoutHeld(l)}`,
        })))] : []),
      ]),
      ...[moveControls(incident, ctx, load)].filter(Boolean),
    );
    const note = head.querySelector('#incident-moves input.note');
    if (note && typed) note.value = typed;
    if (note && focused) note.focus();
    const ranked = incident.root_cause?.ranked ?? [];
    const top = ranked.length ? Math.max(...ranked.map((r) => r.score)) : 1;
    clear(rootCause).append(h('h2', { text: 'Root cause' }), ranked.length
      ? h('ol', { class: 'ranked' }, ranked.map((r, i) => h('li', { class: i === 0 ? 'ranked-first' : '' }, [
        h('div', { class: 'ranked-head' }, [h('span', { class: 'strong', text: `${r.fault_kind} on ${r.asset}` }), bar(r.score / (top || 1), i === 0 ? 'bad' : 'none'), h('span', { class: 'num', text: `score ${fixed(r.score, 2)}` })]),
        h('ul', { class: 'evidence' }, r.evidence.map((e) => h('li', { text: e }))),
      ])))
      : h('p', { class: 'muted', text: 'No root cause ranked yet.' }));
    const now = ctx.state.overview ? Date.parse(ctx.state.overview.at) / 1000 : Date.parse(incident.last_alert) / 1000;
    current = incident;
    clear(timeline).append(
      h('h2', { text: 'Timeline' }),
      timelineStrip(incident, now),
      h('ol', { class: 'timeline' }, incident.timeline.map((e) => h('li', { class: `kind-${e.kind}` }, [
        h('span', { class: 'when', text: plantTime(e.at).slice(11) }),
        h('span', { class: `pill kind-${e.kind}`, text: e.kind }),
        h('span', { text: e.text }),
        e.asset ? h('span', { class: 'muted', text: ` · ${e.asset}` }) : null,
        e.by ? h('span', { class: 'muted', text: ` · by ${e.by}` }) : null,
      ]))),
    );
    drawSignals();
  };
  // The signals run up to the plant's present, which the first overview event tells.
  const drawSignals = () => {
    if (signalsDrawn || !current || !ctx.state.overview) return;
    signalsDrawn = true;
    signals(signalBox, current, Date.parse(ctx.state.overview.at) / 1000);
  };
  ctx.on('overview', drawSignals);
  ctx.on('incidents', load);
  ctx.on('actions', load);
  load();
}

export default {
  title: 'Incidents',
  mount(root, ctx) {
    if (ctx.params[0]) detail(root, ctx, ctx.params[0]);
    else list(root, ctx);
  },
};
