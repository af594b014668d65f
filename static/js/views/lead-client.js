/* Team lead: one client's review. Every intervention, follow-up, key-worker change and
   merge, who recorded it, when it happened and when it was recorded; reassign; close or
   re-date the client's open follow-ups (network actions). Readable offline from the
   copy kept when it was last opened. */
import { h, field, fmtDate, fmtDateTime } from '../ui.js';
import { typeLabel, label } from '../data.js';
import {
  leadNav, heading, cached, staleNotice, remember, who, reasonLabel, ASSIGN_REASONS,
  online, statusRegion, say, sharedNote,
} from './lead-common.js';

const PER_PAGE = 50;
const KEEP = 20; // histories kept on the phone for offline reading

async function prune(db, id) {
  const index = ((await db.getMeta('lead:history-index').catch(() => null)) || []).filter((x) => x !== id);
  index.unshift(id);
  const drop = index.splice(KEEP);
  const values = { 'lead:history-index': index };
  for (const old of drop) values['lead:history:' + old] = undefined;
  await db.setMeta(values);
}

function changeReason(code) {
  if (ASSIGN_REASONS.some((r) => r.value === code)) return reasonLabel(code);
  if (code === 'merge') return 'Records merged';
  return 'Set on a worker’s phone';
}

function recorded(ev) {
  return 'Recorded ' + fmtDateTime(ev.recorded_at) + (ev.recorded_by_name ? ' by ' + ev.recorded_by_name : '');
}

function eventItem(ctx, ev) {
  const meta = [];
  let title;
  let tag = null;
  let actions = null;
  if (ev.kind === 'intervention') {
    title = typeLabel(ctx.codes, ev.type);
    meta.push('Happened ' + fmtDateTime(ev.occurred_at), recorded(ev));
    const detail = [label(ctx.codes.locations, ev.location)];
    if (ev.quantity != null) detail.push('Quantity ' + ev.quantity);
    if (ev.outcome) detail.push('Outcome: ' + ev.outcome);
    if (ev.referral_to) detail.push('Referred to ' + ev.referral_to);
    meta.push(detail.filter(Boolean).join(' · '));
    if (ev.notes) meta.push('Notes: ' + ev.notes);
  } else if (ev.kind === 'follow_up') {
    // The server's default reason is "Follow up": never "Follow-up: Follow up".
    title = ev.reason && !/^follow[ -]?up$/i.test(ev.reason.trim()) ? 'Follow-up: ' + ev.reason : 'Follow-up';
    const open = !ev.done_at;
    const overdue = open && ev.due_on < new Date().toISOString().slice(0, 10);
    tag = h('span', { class: 'tag ' + (open ? (overdue ? 'tag-overdue' : 'tag-due') : 'tag-ok'), text: open ? (overdue ? 'Overdue' : 'Open') : 'Done' });
    meta.push('Due ' + fmtDate(ev.due_on) + (ev.done_at ? ' · Done ' + fmtDateTime(ev.done_at) : ''));
    meta.push('Assigned to ' + (ev.assigned_to_name || 'the key worker'), recorded(ev));
    if (open) actions = followUpActions(ctx, ev);
  } else if (ev.kind === 'key_worker_change') {
    title = 'Key worker changed';
    meta.push('From ' + (ev.from_worker_name || 'nobody') + ' to ' + (ev.to_worker_name || 'nobody'));
    meta.push('Reason: ' + changeReason(ev.change_reason), recorded(ev));
  } else {
    title = 'Another record of this person was merged in';
    meta.push(recorded(ev));
  }
  return h('li', { class: 'card' }, h('h3', { class: 'card-title' }, title, tag),
    ...meta.map((t) => h('p', { class: 'row-meta', text: t })), actions);
}

function followUpActions(ctx, ev) {
  const due = fmtDate(ev.due_on);
  const status = statusRegion('fu-status-' + ev.record_id);
  const close = h('button', { type: 'button', class: 'btn btn-small', 'aria-label': 'Close follow-up due ' + due, text: 'Close' });
  const redate = h('button', { type: 'button', class: 'btn btn-small', 'aria-expanded': 'false', 'aria-label': 'Change date of follow-up due ' + due, text: 'Change date' });
  const dateField = field('New due date', h('input', { type: 'date', id: 'redate-' + ev.record_id, value: ev.due_on }));
  const form = h('form', { class: 'redate', hidden: true, novalidate: true }, dateField.wrap,
    h('button', { type: 'submit', class: 'btn btn-small btn-primary', text: 'Save date' }));
  const after = (msg) => { ctx.flash(msg); ctx.runSync('lead'); ctx.go(location.hash.replace(/^#\//, '')); };
  close.addEventListener('click', async () => {
    close.disabled = true;
    const out = await online(ctx, 'Closing a follow-up', status, (api) => api.call('POST', '/api/v1/follow-ups/' + ev.record_id + '/close'));
    close.disabled = false;
    if (out) after('Follow-up due ' + due + ' closed.'); else status.focus();
  });
  redate.addEventListener('click', () => {
    form.hidden = !form.hidden;
    redate.setAttribute('aria-expanded', String(!form.hidden));
    if (!form.hidden) dateField.input.focus();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = dateField.input.value;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) { dateField.setError('Enter a date'); dateField.input.focus(); return; }
    dateField.setError(null);
    const out = await online(ctx, 'Changing the date', status, (api) => api.call('PATCH', '/api/v1/follow-ups/' + ev.record_id, { due_on: value }));
    if (out) after('Follow-up now due ' + fmtDate(out.due_on || value) + '.'); else status.focus();
  });
  return h('div', {}, h('div', { class: 'actions' }, close, redate), form, status);
}

export async function render(ctx, [id]) {
  const { db, api } = ctx.O;
  const path = (page) => '/api/v1/clients/' + encodeURIComponent(id) + '/history?page=' + page + '&per_page=' + PER_PAGE;
  let res;
  try {
    res = await cached(ctx, 'history:' + id, path(1));
  } catch (e) {
    if (e.status === 404) {
      ctx.append(leadNav(null), heading('Client not found'), h('p', { text: 'This client is not in your team any more (moved, merged or deleted).' }),
        h('a', { class: 'btn', href: '#/team/attention', text: 'Clients needing attention' }));
      return;
    }
    throw e;
  }
  if (!res.stale) await prune(db, id);
  const data = res.data;
  const c = data ? data.client : null;
  ctx.append(leadNav(null), heading(c ? 'Review ' + who(c) : 'Client review'));
  if (res.stale) ctx.append(staleNotice(res, 'this history'));
  if (ctx.notice) ctx.append(h('p', { class: 'info', role: 'status', text: ctx.notice }));
  if (!c) return;
  remember([c]);
  const events = (data.items || data.events || []).slice(); // events: a copy an earlier app stored
  const list = h('ol', { class: 'list cards', id: 'history' });
  const more = h('button', { type: 'button', class: 'btn btn-block', text: 'Load older events' });
  const status = statusRegion('history-status');
  const draw = (from) => list.append(...events.slice(from).map((ev) => eventItem(ctx, ev)));
  const total = () => data.meta.total;
  more.hidden = events.length >= total();
  more.addEventListener('click', async () => {
    if (!navigator.onLine) { say(status, 'You’re offline. Older events need a connection.', true); return; }
    const from = events.length;
    try {
      const next = await api.call('GET', path(Math.floor(from / PER_PAGE) + 1));
      events.push(...next.items);
    } catch (e) { say(status, e.message || 'Older events could not be loaded.', true); return; }
    draw(from);
    more.hidden = events.length >= total();
    const first = list.children[from];
    if (first) { first.setAttribute('tabindex', '-1'); first.focus(); }
  });
  ctx.append(
    sharedNote(c),
    h('dl', { class: 'facts' },
      h('dt', { text: 'Date of birth' }), h('dd', { text: fmtDate(c.date_of_birth) }),
      h('dt', { text: 'Known as' }), h('dd', { text: c.known_as || '—' }),
      h('dt', { text: 'Postcode district' }), h('dd', { text: c.postcode_district || '—' }),
      h('dt', { text: 'Key worker' }), h('dd', { text: c.key_worker_name || 'None' }),
      h('dt', { text: 'Last contact' }), h('dd', { text: c.last_contact_at ? fmtDateTime(c.last_contact_at) + ' (' + c.days_since_contact + ' days ago)' : 'Never' }),
      h('dt', { text: 'Follow-ups overdue' }), h('dd', { text: String(c.follow_ups_overdue || 0) })),
    h('div', { class: 'actions' },
      h('a', { class: 'btn btn-primary', href: '#/team/assign?ids=' + encodeURIComponent(c.id), text: 'Reassign' }),
      h('a', { class: 'btn', href: '#/client/' + encodeURIComponent(c.id), text: 'Open client' })),
    h('h2', { text: 'History (' + total() + ')' }),
    h('p', { class: 'muted', text: 'Newest first. “Happened” is when it took place; “Recorded” is when the server received it.' }),
    list, more, status,
  );
  draw(0);
  if (!events.length) list.replaceWith(h('p', { class: 'muted', text: 'Nothing recorded yet.' }));
}
