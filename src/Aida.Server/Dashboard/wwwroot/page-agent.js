// Agent: its mode (taken back or handed over with a reason), the assets people hold locked out (lock out, release with a
// reason), runbooks and actions waiting for an approver (approve or reject, with a note), every action with its outcome,
// and the hash-chained audit log.

import * as api from './api.js';
import { h, clear, plantTime, lockoutHeld } from './dom.js';

// A person's decision: a text field and a button per choice ({verb, cls, text, title}), disabled for a role that may not
// decide. `send(verb, text)` posts it; with `required`, an empty text is refused on the page (the server requires it too).
function decisionControls(label, choices, send, ctx, onDone, required = false) {
  const note = h('input', { type: 'text', class: 'note', placeholder: required ? 'why (required)' : 'note (optional)', 'aria-label': `${required ? 'reason' : 'note'} for ${label}` });
  const message = h('span', { class: 'error' });
  const decide = (verb) => async () => {
    const text = note.value.trim();
    if (required && !text) {
      message.textContent = 'Say why: it is audited.';
      return;
    }
    for (const b of buttons) b.disabled = true;
    message.textContent = '';
    try {
      await send(verb, text);
      onDone();
    } catch (e) {
      message.textContent = e.message;
      for (const b of buttons) b.disabled = false;
    }
  };
  const allowed = ctx.canApprove;
  const buttons = choices.map((c) => h('button', { class: c.cls, 'data-id': label, disabled: !allowed, title: allowed ? c.title : 'Your role may not decide this', text: c.text, onclick: decide(c.verb) }));
  return h('div', { class: 'pending-do' }, allowed ? [note, ...buttons, message] : [...buttons, h('span', { class: 'muted', text: ` you are a ${ctx.user.role}: viewing only` })]);
}

// Approve or reject, with an optional note, posting to `${path}/approve` or `/reject`.
const approval = (path, label, ctx, onDone) => decisionControls(label,
  [{ verb: 'approve', cls: 'approve', text: 'Approve', title: 'Approve' }, { verb: 'reject', cls: 'reject secondary', text: 'Reject', title: 'Reject' }],
  (verb, text) => api.post(`${path}/${verb}`, text ? { note: text } : {}), ctx, onDone);

// An action waiting for an approver: the API's, or the agent's (a supervised agent's high-risk actions).
function pendingCard(action, ctx, onDone) {
  return h('div', { class: 'pending', 'data-id': action.id, 'data-source': action.source }, [
    h('div', { class: 'pending-what' }, [
      h('span', { class: `pill risk-${action.risk}`, text: `${action.risk} risk` }),
      h('span', { class: 'strong', text: ` ${action.kind} ${action.asset}` }),
      h('span', { text: ` → ${action.actuator} = ${action.value}` }),
    ]),
    h('div', { class: 'muted', text: `${action.reason} · proposed by ${action.requested_by} at ${plantTime(action.proposed_at)}` }),
    approval(`/api/actions/${encodeURIComponent(action.id)}`, action.id, ctx, onDone),
  ]);
}

// An actuator whose read-back disagrees with what Aida wrote (moved at the panel or by another writer, or a read-back
// that lies): Aida judges each step of it from both until a person says which is true, with a reason (audited).
function disputeCard(d, ctx, onDone) {
  return h('div', { class: 'pending dispute', 'data-actuator': d.actuator }, [
    h('div', { class: 'pending-what' }, [
      h('span', { class: 'pill risk-high', text: 'read-back' }),
      h('span', { class: 'strong', text: ` ${d.actuator}` }),
      h('span', { text: ` reads back ${d.read_back} where Aida wrote ${d.written}` }),
    ]),
    h('div', { class: 'muted', text: d.on_off
      ? `since ${plantTime(d.read_at)}: switched at the panel or by another controller, or a read-back that lies; the interlocks count what the plant reports, say which is true`
      : `since ${plantTime(d.read_at)}: moved at the panel or by another writer, or a read-back that lies; each step is judged from both until you say which is true` }),
    decisionControls(d.actuator, [
      { verb: 'adopt', cls: 'adopt', text: 'Adopt read-back', title: 'It is where the plant reads it back' },
      { verb: 'dismiss', cls: 'dismiss secondary', text: 'Dismiss as lying', title: 'The read-back lies; it is where Aida wrote it' },
    ], (verb, text) => api.post(`/api/actuators/${verb}`, { actuator: d.actuator, reason: text }), ctx, onDone, true),
  ]);
}

// A runbook the agent started that waits for a person's go-ahead as a whole (approval: true).
function runbookCard(run, ctx, onDone) {
  return h('div', { class: 'pending runbook', 'data-incident': String(run.incident) }, [
    h('div', { class: 'pending-what' }, [
      h('span', { class: 'pill risk-high', text: 'runbook' }),
      h('span', { class: 'strong', text: ` ${run.fault_kind} on ${run.asset}` }),
      h('span', { text: ` · runbook ${run.runbook} · incident ${run.incident}` }),
    ]),
    h('div', { class: 'muted', text: `started ${plantTime(run.started)}, waits until ${plantTime(run.waiting_until)}; approved, its steps run with this approval` }),
    approval(`/api/runbook-runs/${run.incident}`, `incident ${run.incident}`, ctx, onDone),
  ]);
}

// How the agent acts now, and the buttons that change it with a reason (audited): an approver takes autonomy away (dry
// run: it proposes and writes nothing), only an admin hands it back, never above the agent's highest mode.
const MODE_RANK = { 'dry-run': 0, supervised: 1, autonomous: 2 };
function modeCard(m, ctx, onDone) {
  const choices = Object.keys(MODE_RANK)
    .filter((x) => x !== m.mode && MODE_RANK[x] <= MODE_RANK[m.highest] && (MODE_RANK[x] < MODE_RANK[m.mode] || ctx.user.role === 'admin'))
    .map((x) => ({
      verb: x,
      cls: `to-${x}${MODE_RANK[x] < MODE_RANK[m.mode] ? '' : ' secondary'}`,
      text: x === 'dry-run' ? 'Dry run: write nothing' : `Make ${x}`,
      title: MODE_RANK[x] < MODE_RANK[m.mode] ? 'Take autonomy away from the agent' : 'Hand the agent more autonomy',
    }));
  return h('div', { class: 'agent-mode', id: 'agent-mode', 'data-mode': m.mode }, [
    h('div', { class: 'pending-what' }, [
      h('span', { class: `pill mode-${m.mode}`, text: m.mode }),
      h('span', { text: m.changed_by ? ` since ${plantTime(m.changed_at)}, set by ${m.changed_by}: ${m.reason}` : ' as it started' }),
    ]),
    choices.length ? decisionControls('agent mode', choices, (verb, text) => api.post('/api/agent/mode', { mode: verb, reason: text }), ctx, onDone, true) : null,
  ]);
}

// A datetime-local field's value (plant time in UTC, as the dashboard shows it) as RFC 3339.
const utc = (value) => `${value.length === 16 ? `${value}:00` : value}Z`;

// Assets people hold locked out (lockout/tagout): Aida writes none of their actuators, whoever asks, until the person who
// locked one out, or an approver, releases it with a reason (audited). An operator or above locks one out, now or from a
// time to come (planned work: called off the same way).
function lockoutCard(l, ctx, onDone) {
  const planned = l.state === 'planned';
  // An asset may have several, one after another: each button names its own by its start (the API's since).
  const which = { since: l.since };
  const mine = l.by === `api:${ctx.user.name}`;
  const allowed = mine || ctx.canApprove;
  const reason = h('input', { type: 'text', class: 'note', placeholder: 'why (required)', 'aria-label': `reason to ${planned ? 'call off' : 'release'} ${l.asset}` });
  const message = h('span', { class: 'error' });
  const release = h('button', { class: 'release secondary', disabled: !allowed, title: allowed ? (planned ? 'Call the planned lockout off' : 'Hand the asset back to Aida') : `Only ${l.by} or an approver ${planned ? 'calls it off' : 'releases it'}`, text: planned ? 'Call off' : 'Release',
    onclick: async () => {
      if (!reason.value.trim()) { message.textContent = 'Say why: it is audited.'; return; }
      release.disabled = true;
      try { await api.post(`/api/lockouts/${encodeURIComponent(l.asset)}/release`, { ...which, reason: reason.value.trim() }); onDone(); }
      catch (e) { message.textContent = e.message; release.disabled = false; }
    } });
  // The work takes longer: its end moves (from the plant's now; a planned one's, from its start), the lockout held throughout.
  const end = h('select', { class: 'extend-for', 'aria-label': `new end of ${l.asset}'s lockout` },
    [['1h', 1], ['2h', 2], ['4h', 4], ['8h', 8], ['1d', 24]].map(([value, hours]) => h('option', { value, text: planned ? `lasts ${hours} h` : `ends in ${hours} h` })));
  const extend = h('button', { class: 'extend secondary', text: 'Set end',
    onclick: async () => {
      extend.disabled = true;
      try { await api.post(`/api/lockouts/${encodeURIComponent(l.asset)}/extend`, { ...which, for: end.value }); onDone(); }
      catch (e) { message.textContent = e.message; extend.disabled = false; }
    } });
  // A planned one's work put off or brought forward: its start moves (UTC, plant time), its length kept.
  const start = h('input', { type: 'datetime-local', class: 'reschedule-from', step: 60, 'aria-label': `new start of ${l.asset}'s planned lockout (UTC)` });
  const move = h('button', { class: 'reschedule ask', text: 'Move start',
    onclick: async () => {
      if (!start.value) { message.textContent = 'Give the new start.'; return; }
      move.disabled = true;
      try { await api.post(`/api/lockouts/${encodeURIComponent(l.asset)}/reschedule`, { ...which, from: utc(start.value) }); onDone(); }
      catch (e) { message.textContent = e.message; move.disabled = false; }
    } });
  return h('div', { class: 'pending lockout', 'data-asset': l.asset, 'data-since': l.since }, [
    h('div', { class: 'pending-what' }, [
      planned ? h('span', { class: 'pill risk-medium', text: 'planned' }) : h('span', { class: 'pill risk-high', text: 'locked out' }),
      h('span', { class: 'strong', text: ` ${l.asset}` }),
      h('span', { class: 'lockout-held', text: ` ${lockoutHeld(l)}` }),
    ]),
    h('div', { class: 'pending-do lockout-form' }, allowed ? [reason, release, end, extend, ...(planned ? [start, move] : []), message] : [release]),
  ]);
}

function lockOutForm(ctx, onDone) {
  const mayLock = ctx.user.role !== 'viewer';
  const asset = h('input', { type: 'text', id: 'lockout-asset', placeholder: 'asset (cdu-h1-a, chiller-2, h1-a01)', 'aria-label': 'asset to lock out', disabled: !mayLock });
  const reason = h('input', { type: 'text', id: 'lockout-reason', class: 'note', placeholder: 'work on it (required)', 'aria-label': 'why it is locked out', disabled: !mayLock });
  // When the work starts (the API's "from", plant time in UTC as the dashboard shows it; blank: now), and how long from
  // then (the API's "for"); it starts and ends by itself, audited. Until released by default.
  const from = h('input', { type: 'datetime-local', id: 'lockout-from', step: 60, title: 'Plan it: when the work starts (UTC, plant time); blank: now', 'aria-label': 'when the lockout starts (UTC; blank: now)', disabled: !mayLock });
  const lasting = h('select', { id: 'lockout-for', 'aria-label': 'how long it is locked out', disabled: !mayLock },
    [['', 'until released'], ['1h', 'for 1 h'], ['2h', 'for 2 h'], ['4h', 'for 4 h'], ['8h', 'for 8 h'], ['12h', 'for 12 h'], ['1d', 'for 24 h']]
      .map(([value, text]) => h('option', { value, text })));
  const message = h('span', { class: 'error' });
  // What a lockout takes from the agent: the runbook steps it leaves refused, asked before (Check, GET
  // /api/lockouts/impact, any role) and said again once taken (POST /api/lockouts' impact); and what the asset's group
  // (the chillers, its hall's CDUs) has left against the day's peak load, its verdict as the line's class (short in red).
  const impact = h('div', { id: 'lockout-impact', class: 'muted' });
  const showImpact = (lead, steps, capacity) => clear(impact).append(
    ...(lead ? [h('p', { text: lead }), h('ul', {}, steps.map((line) => h('li', { class: 'impact-step', text: line })))] : []),
    ...(capacity ? [h('p', { id: 'lockout-capacity', class: capacity.verdict === 'short' && capacity.made_up_by ? 'capacity-made-up' : `capacity-${capacity.verdict.replaceAll('_', '-')}`, text: `Capacity: ${capacity.said}` })] : []));
  const check = h('button', { id: 'lockout-check', class: 'ask', text: 'Check', title: 'Which runbook steps of the agent a lockout of this asset would leave refused, and what its group would have left against the day\'s peak load',
    onclick: async () => {
      const name = asset.value.trim();
      if (!name) { message.textContent = 'Name the asset to check.'; return; }
      message.textContent = '';
      try {
        // Asked for the work's time as the form gives it: the other lockouts over it count as out.
        const when = new URLSearchParams({ asset: name });
        if (from.value) when.set('from', utc(from.value));
        if (lasting.value) when.set('for', lasting.value);
        const asked = await api.get(`/api/lockouts/impact?${when}`);
        showImpact(!asked.agent ? `No agent runs here: locking ${name} out takes no runbook step from it.`
          : asked.runbooks.length ? `Locking ${name} out would leave these runbook steps refused, their run rolled back to a person:`
            : `No runbook step writes ${name}: locking it out takes none from the agent.`, asked.runbooks, asked.capacity);
      } catch (e) { clear(impact); message.textContent = e.message; }
    } });
  const lock = h('button', { id: 'lockout-add', disabled: !mayLock, title: mayLock ? 'Aida writes nothing to it until it is released' : 'A viewer may not lock out', text: 'Lock out',
    onclick: async () => {
      if (!asset.value.trim() || !reason.value.trim()) { message.textContent = 'Name the asset and say why: it is audited.'; return; }
      lock.disabled = true;
      message.textContent = '';
      const body = { asset: asset.value.trim(), reason: reason.value.trim() };
      if (lasting.value) body.for = lasting.value;
      if (from.value) body.from = utc(from.value);
      clear(impact);
      try {
        const taken = await api.post('/api/lockouts', body);
        showImpact(taken.impact?.length ? `While ${taken.asset} is ${taken.state === 'planned' ? 'locked out from its start' : 'locked out'} these runbook steps are refused, and their run rolls back to a person:` : null,
          taken.impact ?? [], taken.capacity);
        asset.value = ''; reason.value = ''; lasting.value = ''; from.value = ''; onDone();
      } catch (e) { message.textContent = e.message; }
      lock.disabled = false;
    } });
  return h('div', {}, [h('div', { class: 'pending-do lockout-form' }, [asset, check, reason, from, lasting, lock, message]), impact]);
}

export default {
  title: 'Agent',
  mount(root, ctx) {
    const mode = h('div', { id: 'mode' });
    const lockouts = h('div', { id: 'lockouts' });
    // Why the lockouts could not be read, above those last drawn (kept: a reason may be being typed into one).
    const lockoutsUnread = h('p', { class: 'error', id: 'lockouts-unread', hidden: true });
    const pending = h('div', { id: 'pending' });
    const all = h('div', { id: 'actions' });
    const audit = h('div', { id: 'audit' });
    root.append(
      h('h1', { text: 'Agent and actions' }),
      h('section', { class: 'card' }, [h('h2', { text: 'Mode' }), mode]),
      h('section', { class: 'card' }, [h('h2', { text: 'Locked out' }), lockoutsUnread, lockouts, lockOutForm(ctx, () => { loadLockouts(); loadAudit(); })]),
      h('section', { class: 'card' }, [h('h2', { text: 'Pending approvals' }), pending]),
      h('section', { class: 'card' }, [h('h2', { text: 'Actions' }), all]),
      h('section', { class: 'card' }, [h('h2', { text: 'Audit log (last 100)' }), audit]),
    );

    const loadAudit = async () => {
      try {
        const entries = await api.get('/api/audit?limit=100');
        clear(audit).append(h('table', { class: 'grid compact' }, [
          h('thead', {}, [h('tr', {}, ['#', 'plant time', 'actor', 'kind', 'subject', 'detail', 'hash'].map((t) => h('th', { text: t })))]),
          h('tbody', {}, [...entries].reverse().map((e) => h('tr', { class: e.held ? 'audit-row held' : 'audit-row' }, [
            // Held: sealed into the chain, not yet on disk (its disk refuses it).
            h('td', { class: 'num' }, [String(e.sequence), ...(e.held ? [h('span', { class: 'pill held', title: 'sealed into the chain, held in memory until the disk takes it', text: 'held' })] : [])]),
            h('td', { text: plantTime(e.at) }),
            h('td', { text: e.actor }),
            h('td', {}, [h('span', { class: `pill kind-${e.kind}`, text: e.kind })]),
            h('td', { text: e.subject }),
            h('td', { class: 'detail', text: e.detail }),
            h('td', { class: 'hash', title: e.hash, text: String(e.hash).slice(0, 10) }),
          ]))),
        ]));
      } catch (e) {
        clear(audit).append(h('p', { class: 'error', text: e.message }));
      }
    };

    // What waits for a person: actuators in dispute, runbooks as a whole, then actions.
    let disputes = [];
    let waitingRuns = [];
    let waitingActions = [];
    // Why the runbooks waiting and the disputes could not be read (a stalled control loop holding the plant's lock
    // answers 503): then nothing is known to wait, which is not "nothing is waiting".
    let unread = null;
    const decided = () => { ctx.refresh('actions'); loadAudit(); loadRuns(); };
    // Drawn again only when what waits changes (the runs and disputes are read at every audit change, each second at
    // 60x), and then with the notes people were typing kept: redrawn under them, a reason typed into a card was wiped
    // before its button was clicked ("Say why: it is audited.").
    let drawn = null;
    const showPending = () => {
      const now = JSON.stringify([disputes, waitingRuns, waitingActions, unread]);
      if (now === drawn) return;
      drawn = now;
      const typed = new Map([...pending.querySelectorAll('[data-key]')].map((c) => [c.dataset.key, c.querySelector('input.note')]));
      const focused = document.activeElement?.closest?.('#pending [data-key]')?.dataset.key;
      const keyed = (key, card) => { card.dataset.key = key; return card; };
      clear(pending).append(
        ...(unread ? [h('p', { class: 'error', id: 'pending-unread', text: `The runbooks waiting and the disputes could not be read: ${unread}` })] : []),
        ...(disputes.length + waitingRuns.length + waitingActions.length
          ? [...disputes.map((d) => keyed(`dispute ${d.actuator}`, disputeCard(d, ctx, decided))),
            ...waitingRuns.map((r) => keyed(`runbook ${r.incident}`, runbookCard(r, ctx, decided))),
            ...waitingActions.map((a) => keyed(`action ${a.source} ${a.id}`, pendingCard(a, ctx, decided)))]
          : unread ? [] : [h('p', { class: 'muted', id: 'no-pending', text: 'Nothing is waiting for approval.' })]));
      for (const card of pending.querySelectorAll('[data-key]')) {
        const before = typed.get(card.dataset.key);
        const note = card.querySelector('input.note');
        if (before && note) {
          note.value = before.value;
          if (card.dataset.key === focused) note.focus();
        }
      }
    };
    const loadRuns = async () => {
      try {
        [waitingRuns, disputes] = await Promise.all([
          api.get('/api/runbook-runs').then((runs) => runs.filter((r) => r.waiting_until)),
          api.get('/api/actuators/disputes'),
        ]);
        unread = null;
      } catch (e) {
        // The actions still show; the runs and disputes are read again at the next audit change.
        unread = e.message;
      }
      showPending();
      // 404: no agent; any other failure is said, not taken for one.
      const m = await api.get('/api/agent/mode').catch((e) => (e.status === 404 ? null : e));
      if (!m) clear(mode).append(h('p', { class: 'muted', text: 'No agent runs here.' }));
      else if (m instanceof Error) clear(mode).append(h('p', { class: 'error', id: 'mode-unread', text: `The agent's mode could not be read: ${m.message}` }));
      // Not redrawn under a person typing a reason for the same mode (the audit log changes every minute).
      else if (mode.firstChild?.dataset?.mode !== m.mode || !mode.querySelector('input.note')?.value) clear(mode).append(modeCard(m, ctx, decided));
    };

    // Drawn again only when the lockouts change, so a reason being typed to release one is kept.
    let lockoutsDrawn = null;
    const loadLockouts = async () => {
      try {
        const list = await api.get('/api/lockouts');
        lockoutsUnread.hidden = true;
        const now = JSON.stringify(list);
        if (now === lockoutsDrawn) return;
        lockoutsDrawn = now;
        clear(lockouts).append(...(list.length
          ? list.map((l) => lockoutCard(l, ctx, () => { loadLockouts(); loadAudit(); }))
          : [h('p', { class: 'muted', id: 'no-lockouts', text: 'No asset is locked out: Aida may write them all, within its envelope.' })]));
      } catch (e) {
        // Said, not left blank; read again at the next audit change.
        lockoutsUnread.textContent = `The lockouts could not be read: ${e.message}`;
        lockoutsUnread.hidden = false;
      }
    };

    const show = (actions) => {
      if (!actions) return;
      waitingActions = actions.filter((a) => a.state === 'pending_approval');
      showPending();
      clear(all).append(actions.length
        ? h('table', { class: 'grid compact' }, [
          h('thead', {}, [h('tr', {}, ['id', 'source', 'proposed', 'kind', 'asset', 'value', 'risk', 'by', 'state', 'decided by', 'outcome'].map((t) => h('th', { text: t })))]),
          h('tbody', {}, actions.map((a) => h('tr', { class: 'action-row', 'data-id': a.id, 'data-source': a.source, 'data-state': a.state }, [
            h('td', { text: a.id }),
            h('td', { text: a.source }),
            h('td', { text: plantTime(a.proposed_at) }),
            h('td', { text: a.kind }),
            h('td', { text: a.asset }),
            h('td', { class: 'num', text: String(a.value) }),
            h('td', {}, [h('span', { class: `pill risk-${a.risk}`, text: a.risk })]),
            h('td', { text: a.requested_by }),
            h('td', {}, [h('span', { class: `pill action-${a.state}`, text: a.state })]),
            h('td', { text: a.decided_by ?? '–' }),
            h('td', { class: 'detail', text: a.outcome ?? '–' }),
          ]))),
        ])
        : h('p', { class: 'muted', text: 'No actions proposed yet.' }));
    };

    let lastAudit = -1;
    ctx.on('actions', (a) => { show(a); loadAudit(); });
    ctx.on('overview', (o) => {
      if (o.audit_entries !== lastAudit) {
        lastAudit = o.audit_entries;
        loadAudit();
        loadRuns();
        loadLockouts();
      }
    });
    show(ctx.state.actions);
    loadAudit();
    loadRuns();
    loadLockouts();
  },
};
