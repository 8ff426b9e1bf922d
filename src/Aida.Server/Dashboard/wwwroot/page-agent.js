// Agent: runbooks and actions waiting for an approver (approve or reject, with a note), every action with its outcome, and the
// hash-chained audit log.

import * as api from './api.js';
import { h, clear, plantTime } from './dom.js';

// Approve and reject buttons with a note, posting to `${path}/approve` or `/reject`; disabled for a role that may not.
function decisionControls(path, label, ctx, onDone) {
  const note = h('input', { type: 'text', class: 'note', placeholder: 'note (optional)', 'aria-label': `note for ${label}` });
  const message = h('span', { class: 'error' });
  const decide = (verb) => async () => {
    for (const b of buttons) b.disabled = true;
    message.textContent = '';
    try {
      const text = note.value.trim();
      await api.post(`${path}/${verb}`, text ? { note: text } : {});
      onDone();
    } catch (e) {
      message.textContent = e.message;
      for (const b of buttons) b.disabled = false;
    }
  };
  const allowed = ctx.canApprove;
  const buttons = [
    h('button', { class: 'approve', 'data-id': label, disabled: !allowed, title: allowed ? 'Approve' : 'Your role may not approve', text: 'Approve', onclick: decide('approve') }),
    h('button', { class: 'reject secondary', 'data-id': label, disabled: !allowed, title: allowed ? 'Reject' : 'Your role may not reject', text: 'Reject', onclick: decide('reject') }),
  ];
  return h('div', { class: 'pending-do' }, allowed ? [note, ...buttons, message] : [...buttons, h('span', { class: 'muted', text: ` you are a ${ctx.user.role}: viewing only` })]);
}

// An action waiting for an approver: the API's, or the agent's (a supervised agent's high-risk actions).
function pendingCard(action, ctx, onDone) {
  return h('div', { class: 'pending', 'data-id': action.id, 'data-source': action.source }, [
    h('div', { class: 'pending-what' }, [
      h('span', { class: `pill risk-${action.risk}`, text: `${action.risk} risk` }),
      h('span', { class: 'strong', text: ` ${action.kind} ${action.asset}` }),
      h('span', { text: ` → ${action.actuator} = ${action.value}` }),
    ]),
    h('div', { class: 'muted', text: `${action.reason} · proposed by ${action.requested_by} at ${plantTime(action.proposed_at)}` }),
    decisionControls(`/api/actions/${encodeURIComponent(action.id)}`, action.id, ctx, onDone),
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
    decisionControls(`/api/runbook-runs/${run.incident}`, `incident ${run.incident}`, ctx, onDone),
  ]);
}

export default {
  title: 'Agent',
  mount(root, ctx) {
    const pending = h('div', { id: 'pending' });
    const all = h('div', { id: 'actions' });
    const audit = h('div', { id: 'audit' });
    root.append(
      h('h1', { text: 'Agent and actions' }),
      h('section', { class: 'card' }, [h('h2', { text: 'Pending approvals' }), pending]),
      h('section', { class: 'card' }, [h('h2', { text: 'Actions' }), all]),
      h('section', { class: 'card' }, [h('h2', { text: 'Audit log (last 100)' }), audit]),
    );

    const loadAudit = async () => {
      try {
        const entries = await api.get('/api/audit?limit=100');
        clear(audit).append(h('table', { class: 'grid compact' }, [
          h('thead', {}, [h('tr', {}, ['#', 'plant time', 'actor', 'kind', 'subject', 'detail', 'hash'].map((t) => h('th', { text: t })))]),
          h('tbody', {}, [...entries].reverse().map((e) => h('tr', { class: 'audit-row' }, [
            h('td', { class: 'num', text: String(e.sequence) }),
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

    // What waits for a person: runbooks as a whole, then actions.
    let waitingRuns = [];
    let waitingActions = [];
    const decided = () => { ctx.refresh('actions'); loadAudit(); loadRuns(); };
    const showPending = () => {
      clear(pending).append(...(waitingRuns.length + waitingActions.length
        ? [...waitingRuns.map((r) => runbookCard(r, ctx, decided)), ...waitingActions.map((a) => pendingCard(a, ctx, decided))]
        : [h('p', { class: 'muted', id: 'no-pending', text: 'Nothing is waiting for approval.' })]));
    };
    const loadRuns = async () => {
      try {
        waitingRuns = (await api.get('/api/runbook-runs')).filter((r) => r.waiting_until);
        showPending();
      } catch {
        // The actions still show; the runs are read again at the next audit change.
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
      }
    });
    show(ctx.state.actions);
    loadAudit();
    loadRuns();
  },
};
