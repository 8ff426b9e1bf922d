// Agent: actions waiting for an approver (approve or reject, with a note), every action with its outcome, and the
// hash-chained audit log.

import * as api from './api.js';
import { h, clear, plantTime } from './dom.js';

function pendingCard(action, ctx, onDone) {
  const note = h('input', { type: 'text', class: 'note', placeholder: 'note (optional)', 'aria-label': `note for ${action.id}` });
  const message = h('span', { class: 'error' });
  const decide = (verb) => async () => {
    for (const b of buttons) b.disabled = true;
    message.textContent = '';
    try {
      const text = note.value.trim();
      await api.post(`/api/actions/${encodeURIComponent(action.id)}/${verb}`, text ? { note: text } : {});
      onDone();
    } catch (e) {
      message.textContent = e.message;
      for (const b of buttons) b.disabled = false;
    }
  };
  // The agent's own actions are its executor's to decide; the API approves only what was proposed through it.
  const own = action.source === 'agent';
  const allowed = ctx.canApprove && !own;
  const buttons = [
    h('button', { class: 'approve', 'data-id': action.id, disabled: !allowed, title: allowed ? 'Approve and execute' : own ? 'The agent decides its own actions' : 'Your role may not approve', text: 'Approve', onclick: decide('approve') }),
    h('button', { class: 'reject secondary', 'data-id': action.id, disabled: !allowed, title: allowed ? 'Reject' : own ? 'The agent decides its own actions' : 'Your role may not reject', text: 'Reject', onclick: decide('reject') }),
  ];
  return h('div', { class: 'pending', 'data-id': action.id, 'data-source': action.source }, [
    h('div', { class: 'pending-what' }, [
      h('span', { class: `pill risk-${action.risk}`, text: `${action.risk} risk` }),
      h('span', { class: 'strong', text: ` ${action.kind} ${action.asset}` }),
      h('span', { text: ` → ${action.actuator} = ${action.value}` }),
    ]),
    h('div', { class: 'muted', text: `${action.reason} · proposed by ${action.requested_by} at ${plantTime(action.proposed_at)}` }),
    h('div', { class: 'pending-do' }, allowed ? [note, ...buttons, message] : [...buttons, h('span', { class: 'muted', text: own ? ' proposed by the agent: its executor decides' : ` you are a ${ctx.user.role}: viewing only` })]),
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

    const show = (actions) => {
      if (!actions) return;
      const waiting = actions.filter((a) => a.state === 'pending_approval');
      clear(pending).append(...(waiting.length
        ? waiting.map((a) => pendingCard(a, ctx, () => { ctx.refresh('actions'); loadAudit(); }))
        : [h('p', { class: 'muted', id: 'no-pending', text: 'Nothing is waiting for approval.' })]));
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
      }
    });
    show(ctx.state.actions);
    loadAudit();
  },
};
