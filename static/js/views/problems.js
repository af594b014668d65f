/* Sync: what is waiting, what the server rejected (with its reasons, fixable), and what
   the server changed when it resolved a conflict. Nothing is discarded without a yes. */
import { h, fmtDate, fmtDateTime, clientName } from '../ui.js';
import { typeLabel } from '../data.js';

export const live = true;

const NAMES = {
  initials: 'Initials', date_of_birth: 'Date of birth', sex: 'Sex', postcode_district: 'Postcode district',
  known_as: 'Known-as name', client_id: 'Client', type: 'Type', occurred_at: 'Date and time', location: 'Location',
  substances: 'Substances', quantity: 'Quantity', outcome: 'Outcome', referral_to: 'Referred to',
  follow_up_on: 'Follow-up date', notes: 'Notes', due_on: 'Due date', reason: 'Reason', done_at: 'Done',
  _schema: 'Record', id: 'Record',
};
const ENTITY = { client: 'Client', intervention: 'Intervention', follow_up: 'Follow-up' };

export function fieldName(f) { return NAMES[f] || f.replace(/_/g, ' '); }

function describe(ctx, rec) {
  const d = rec.data || {};
  if (rec.entity === 'client') return 'Client ' + clientName(d);
  if (rec.entity === 'intervention') return typeLabel(ctx.codes, d.type) + ', ' + fmtDateTime(d.occurred_at);
  return 'Follow-up due ' + fmtDate(d.due_on);
}

function fixHref(rec) {
  if (rec.entity === 'client') return '#/client-form/' + encodeURIComponent(rec.id);
  if (rec.entity === 'intervention') return '#/record/' + encodeURIComponent(rec.id);
  return '#/follow-ups';
}

/* A value as the worker reads it: dates one way everywhere (en-GB, "15 Sept 1989"). */
function show(v) {
  if (v == null || v === '') return '—';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return fmtDate(v);
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v)) return fmtDateTime(v);
  return String(v);
}

/* The banner shown on a record's own screen when it was rejected or changed on the server. */
export function problemBlock(ctx, rec, withLinks) {
  if (!rec) return null;
  if (rec.status === 'rejected') {
    const errors = Object.entries(rec.errors || {});
    return h('div', { class: 'error-summary', role: 'alert' },
      h('h2', { text: 'The server did not accept this ' + (ENTITY[rec.entity] || 'record').toLowerCase() }),
      rec.message ? h('p', { text: rec.message }) : null,
      h('ul', {}, errors.map(([f, msg]) => h('li', { text: fieldName(f) + ': ' + [].concat(msg).join(' ') }))),
      withLinks ? h('div', { class: 'actions' },
        h('a', { class: 'btn btn-primary', href: fixHref(rec), text: 'Fix and send again' }),
        discardButton(ctx, rec)) : h('p', { text: 'Correct it below and save: it will be sent again.' }));
  }
  if (rec.conflict && rec.conflict.length) {
    const ok = h('button', { type: 'button', class: 'btn btn-small', text: 'OK, got it' });
    ok.addEventListener('click', async () => { await ctx.O.sync.dismissConflict(rec.entity, rec.id); ctx.go(location.hash.replace(/^#\//, '')); });
    return h('div', { class: 'warning', role: 'status' },
      h('h2', { text: 'Changed on the server' }),
      h('p', { text: 'Someone else edited this record too. The server kept these values; yours are saved in its history.' }),
      h('table', { class: 'changes' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Field' }), h('th', { scope: 'col', text: 'You entered' }), h('th', { scope: 'col', text: 'Now' }))),
        h('tbody', {}, rec.conflict.map((c) => h('tr', {}, h('th', { scope: 'row', text: fieldName(c.field) }), h('td', { text: show(c.yours) }), h('td', { text: show(c.kept) }))))),
      h('div', { class: 'actions' }, withLinks ? h('a', { class: 'btn btn-small', href: fixHref(rec), text: 'Open' }) : null, ok));
  }
  return null;
}

function discardButton(ctx, rec) {
  const btn = h('button', { type: 'button', class: 'btn btn-danger', text: 'Discard my change' });
  btn.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'btn btn-danger', text: 'Yes, discard it' });
    const no = h('button', { type: 'button', class: 'btn', text: 'Keep it' });
    const box = h('div', { class: 'warning', role: 'alert' }, h('p', { text: 'Discard what you entered for this record? It will not be sent.' }), h('div', { class: 'actions' }, yes, no));
    btn.replaceWith(box);
    no.focus();
    no.addEventListener('click', () => { box.replaceWith(btn); btn.focus(); });
    yes.addEventListener('click', async () => { await ctx.O.sync.discard(rec.entity, rec.id); ctx.go('sync'); });
  });
  return btn;
}

export async function render(ctx) {
  const { db } = ctx.O;
  // Only the records that can need the worker: those in the outbox (waiting or rejected)
  // and those the server changed (meta `conflicts`), read by key, never every record.
  const [box, lastError, conflictKeys] = await Promise.all([db.outbox(), db.getMeta('last_error'), db.getMeta('conflicts')]);
  const keys = [...new Set([...box.map((e) => e.key), ...(conflictKeys || [])])];
  const recs = (await db.byKeys(keys)).filter((r) => r && ENTITY[r.entity]);
  const rejected = recs.filter((r) => r.status === 'rejected');
  const conflicts = recs.filter((r) => r.status !== 'rejected' && r.conflict && r.conflict.length);
  const waiting = box.filter((e) => e.state !== 'rejected');
  ctx.append(
    h('h1', { tabindex: '-1', text: 'Sync' }),
    ctx.notice ? h('p', { class: 'info', role: 'status', text: ctx.notice }) : null,
    lastError ? h('p', { class: 'warning', text: 'Last sync problem: ' + lastError }) : null,
    h('h2', { text: 'Needs fixing (' + rejected.length + ')' }),
    rejected.length ? h('ul', { class: 'list' }, rejected.map((r) => h('li', { class: 'problem' },
      h('p', { class: 'row-title', text: describe(ctx, r) }), problemBlock(ctx, r, true))))
      : h('p', { class: 'muted', text: 'Nothing was rejected.' }),
    h('h2', { text: 'Changed on the server (' + conflicts.length + ')' }),
    conflicts.length ? h('ul', { class: 'list' }, conflicts.map((r) => h('li', { class: 'problem' },
      h('p', { class: 'row-title', text: describe(ctx, r) }), problemBlock(ctx, r, true))))
      : h('p', { class: 'muted', text: 'No conflicts.' }),
    h('h2', { text: 'Waiting to send (' + waiting.length + ')' }),
    waiting.length ? h('ul', { class: 'list' }, waiting.map((e) => {
      const r = recs.find((x) => x.key === e.key) || { entity: e.entity, id: e.id, data: e.data };
      return h('li', {}, h('div', { class: 'row' }, h('span', { class: 'row-title', text: (e.op === 'delete' ? 'Delete: ' : '') + describe(ctx, r) }),
        h('span', { class: 'row-meta', text: 'Saved ' + fmtDateTime(new Date(e.updated_at || e.created_at).toISOString()) })));
    })) : h('p', { class: 'muted', text: 'Nothing is waiting.' }),
  );
}
