// The dashboard shell: the session, one server-sent-events stream shared by every page, the SLO history sampled
// while the page is open, and a hash router (#overview #flow #budgets #incidents #agent #floor).

import * as api from './api.js';
import { h, clear, plantTime } from './dom.js';
import overview from './page-overview.js';
import flow from './page-flow.js';
import budgets from './page-budgets.js';
import incidents from './page-incidents.js';
import agent from './page-agent.js';
import floor from './page-floor.js';

const pages = { overview, flow, budgets, incidents, agent, floor };

/** What the stream and the samplers last saw; pages read it and subscribe to its changes. */
const state = {
  overview: null,
  incidents: null,
  actions: null,
  slos: null,
};

const listeners = new Map();

function emit(event) {
  for (const fn of listeners.get(event) ?? []) {
    try { fn(state[event], state); } catch (e) { console.error(e); }
  }
}

function subscribe(event, fn) {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(fn);
  return () => listeners.get(event).delete(fn);
}

async function sampleSlos() {
  try {
    const report = await api.get('/api/slos');
    state.slos = report;
    emit('slos');
  } catch (e) {
    if (e.status === 401) location.replace('/login.html');
    // 404: this run keeps no telemetry, so it has no SLOs; the pages say so.
    if (e.status === 404) { state.slos = { missing: e.message }; emit('slos'); }
  }
}

function connect(status) {
  const events = new EventSource('/api/events');
  for (const name of ['overview', 'incidents', 'actions']) {
    events.addEventListener(name, (message) => {
      state[name] = JSON.parse(message.data);
      emit(name);
    });
  }
  events.addEventListener('open', () => { status.textContent = 'live'; status.className = 'live-dot live'; });
  events.addEventListener('error', async () => {
    status.textContent = 'reconnecting';
    status.className = 'live-dot down';
    // EventSource cannot tell an expired session from a dropped connection: ask.
    if ((await api.session().catch(() => 'unknown')) === null) location.replace('/login.html');
  });
  return events;
}

async function refresh(name, path) {
  try {
    state[name] = await api.get(path);
    emit(name);
  } catch (e) {
    console.error(path, e);
  }
}

async function start() {
  const user = await api.session();
  if (!user) {
    location.replace('/login.html');
    return;
  }
  const canApprove = user.role === 'approver' || user.role === 'admin';
  const live = h('span', { class: 'live-dot', id: 'live', text: 'connecting' });
  const clock = h('span', { class: 'plant-clock', id: 'plant-time', text: '–' });
  const nav = h('nav', { class: 'nav' }, Object.entries(pages).map(([id, page]) => h('a', { href: `#${id}`, id: `nav-${id}`, text: page.title })));
  const logout = h('button', {
    class: 'link-button',
    id: 'logout',
    text: 'Sign out',
    onclick: async () => { await api.logout().catch(() => {}); location.replace('/login.html'); },
  });
  const header = h('header', { class: 'top' }, [
    h('a', { class: 'brand', href: '#overview', text: 'Aida' }),
    nav,
    h('div', { class: 'who' }, [live, clock, h('span', { class: 'user', id: 'user', text: `${user.name} (${user.role})` }), logout]),
  ]);
  const main = h('main', { id: 'view' });
  // What keeps Aida from its job (its loop stalled or lagging, data its disk refuses), on every page.
  const trouble = h('div', { class: 'trouble', id: 'trouble', role: 'alert', hidden: true });
  clear(document.body).append(header, trouble, main);

  subscribe('overview', (o) => {
    clock.textContent = `${plantTime(o.at)} · ${o.scenario} · ${o.mode}`;
    const lines = o.trouble || [];
    trouble.hidden = lines.length === 0;
    clear(trouble).append(...lines.map((line) => h('div', { text: line })));
  });

  let current = null;
  const route = () => {
    const [id, ...rest] = location.hash.replace(/^#/, '').split('/');
    const page = pages[id] ? id : 'overview';
    if (current) current.dispose();
    for (const a of nav.children) a.classList.toggle('active', a.id === `nav-${page}`);
    const unsubscribers = [];
    const ctx = {
      state,
      user,
      canApprove,
      params: rest.map(decodeURIComponent),
      on: (event, fn) => { unsubscribers.push(subscribe(event, fn)); },
      refresh: (name) => refresh(name, `/api/${name}`),
    };
    clear(main);
    main.className = `page page-${page}`;
    const dispose = pages[page].mount(main, ctx) || (() => {});
    current = { dispose: () => { unsubscribers.forEach((u) => u()); dispose(); } };
    document.title = `Aida · ${pages[page].title}`;
  };
  window.addEventListener('hashchange', route);
  if (!location.hash) history.replaceState(null, '', '#overview');
  route();

  connect(live);
  refresh('overview', '/api/overview');
  refresh('incidents', '/api/incidents');
  refresh('actions', '/api/actions');
  sampleSlos();
  setInterval(sampleSlos, 5000);
}

start().catch((e) => {
  clear(document.body).append(h('p', { class: 'fatal', text: `The dashboard could not start: ${e.message}` }));
});
