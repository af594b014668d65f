/* Team lead: clients who need attention, with the reasons in words; "no contact for N
   days" adjustable, filter by key worker, "Load more" pages; pick clients to reassign. */
import { h, field, select } from '../ui.js';
import {
  leadNav, heading, cached, staleNotice, reasonTexts, remember, who, born,
  overviewForForms, statusRegion, errorText, say, sharedNote,
} from './lead-common.js';

const PER_PAGE = 20;
const DEFAULT_DAYS = 14;

function params(days, worker, page) {
  const q = new URLSearchParams({ no_contact_days: String(days), page: String(page), per_page: String(PER_PAGE) });
  if (worker === 'none') q.set('unassigned', 'true');
  else if (worker) q.set('worker_id', worker);
  return q;
}

export async function render(ctx, args, query) {
  const { db, api } = ctx.O;
  let days = parseInt(query.get('days') || DEFAULT_DAYS, 10);
  if (!(days >= 1 && days <= 3650)) days = DEFAULT_DAYS;
  let worker = query.get('worker') || '';
  const overview = await overviewForForms(ctx);
  const workers = (overview && overview.workers) || [];
  let res = await cached(ctx, 'attention', '/api/v1/caseload/attention?' + params(days, worker, 1));
  if (res.stale && res.path) {
    // Offline: the stored list may be for other settings; show them as they were.
    const q = new URLSearchParams(res.path.split('?')[1] || '');
    days = parseInt(q.get('no_contact_days'), 10) || DEFAULT_DAYS;
    worker = q.get('unassigned') === 'true' ? 'none' : q.get('worker_id') || '';
  }

  const daysField = field('No contact for at least (days)', h('input', { type: 'number', id: 'att-days', min: '1', max: '3650', step: '1', inputmode: 'numeric', value: String(days) }), 'Clients not seen for this many days are listed');
  const workerSelect = select([{ value: '', label: 'All workers' }, { value: 'none', label: 'No key worker' },
    ...workers.map((w) => ({ value: String(w.worker_id), label: w.name }))], worker, { id: 'att-worker' });
  const workerField = field('Key worker', workerSelect);
  const form = h('form', { class: 'filters', novalidate: true }, daysField.wrap, workerField.wrap,
    h('button', { type: 'submit', class: 'btn', text: 'Show clients' }));
  const count = h('p', { class: 'muted', id: 'att-count', role: 'status', 'aria-live': 'polite' });
  const list = h('ul', { class: 'list cards', id: 'attention-list', 'aria-labelledby': 'att-list-h' });
  const more = h('button', { type: 'button', class: 'btn btn-block', text: 'Load more', hidden: true });
  const status = statusRegion('att-status');
  const selected = new Set();
  const assignBtn = h('button', { type: 'button', class: 'btn btn-primary btn-block', disabled: true, text: 'Reassign selected (0)' });
  let data = res.data;

  function item(c) {
    const id = 'sel-' + c.id;
    const box = h('input', { type: 'checkbox', id, checked: selected.has(c.id) });
    box.addEventListener('change', () => {
      if (box.checked) selected.add(c.id); else selected.delete(c.id);
      assignBtn.disabled = !selected.size;
      assignBtn.textContent = 'Reassign selected (' + selected.size + ')';
    });
    return h('li', { class: 'card' },
      h('div', { class: 'pick' }, box, h('label', { for: id, class: 'row-title' }, who(c), h('span', { class: 'row-meta', text: born(c) ? 'Born ' + born(c).slice(5) : '' }))),
      h('p', { class: 'row-meta', text: 'Key worker: ' + (c.key_worker_name || 'none') }),
      sharedNote(c),
      h('ul', { class: 'reasons' }, reasonTexts(c, days).map((t) => h('li', { text: t }))),
      h('a', { class: 'card-link', href: '#/team/client/' + encodeURIComponent(c.id), 'aria-label': 'Review ' + who(c) + ', ' + born(c), text: 'Review and history' }));
  }

  function draw(fromIndex) {
    const items = (data && data.items) || [];
    remember(items);
    if (!fromIndex) list.replaceChildren(...items.map(item));
    else list.append(...items.slice(fromIndex).map(item));
    const total = data && data.meta ? data.meta.total : items.length;
    count.textContent = total === 0 ? 'No clients need attention with these settings.'
      : total + (total === 1 ? ' client needs' : ' clients need') + ' attention' + (items.length < total ? ' (showing ' + items.length + ')' : '') + '.';
    more.hidden = items.length >= total;
  }

  async function load(page) {
    const path = '/api/v1/caseload/attention?' + params(days, worker, page);
    if (page === 1) { res = await cached(ctx, 'attention', path); data = res.data; return; }
    const next = await api.call('GET', path);
    data = Object.assign({}, next, { items: data.items.concat(next.items || []) });
    // Keep every page shown so far for offline use.
    await db.setMeta({ 'lead:attention': { user_id: ctx.profile.id, at: Date.now(), path: '/api/v1/caseload/attention?' + params(days, worker, 1), data } });
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = Number(daysField.input.value);
    if (!Number.isInteger(n) || n < 1 || n > 3650) {
      daysField.setError('Enter a whole number of days from 1 to 3650');
      daysField.input.focus();
      return;
    }
    daysField.setError(null);
    if (!navigator.onLine) { say(status, 'You’re offline. Changing the list needs a connection; the stored list is shown.', true); return; }
    days = n;
    worker = workerSelect.value;
    const q = new URLSearchParams({ days: String(days) });
    if (worker) q.set('worker', worker);
    history.replaceState(null, '', '#/team/attention?' + q);
    selected.clear();
    assignBtn.disabled = true;
    assignBtn.textContent = 'Reassign selected (0)';
    try { await load(1); say(status, ''); } catch (e) { say(status, errorText(e, 'The list could not be loaded.'), true); return; }
    draw(0);
  });

  more.addEventListener('click', async () => {
    if (!navigator.onLine) { say(status, 'You’re offline. Loading more needs a connection.', true); return; }
    const from = data.items.length;
    more.disabled = true;
    try { await load(Math.floor(from / PER_PAGE) + 1); say(status, ''); } catch (e) { say(status, errorText(e, 'More clients could not be loaded.'), true); }
    more.disabled = false;
    draw(from);
    const first = list.children[from];
    if (first) first.querySelector('input').focus();
  });

  assignBtn.addEventListener('click', () => {
    ctx.go('team/assign?back=attention&ids=' + [...selected].join(','));
  });

  ctx.append(leadNav('attention'), heading('Clients needing attention'));
  if (res.stale) ctx.append(staleNotice(res, 'the list'));
  if (ctx.notice) ctx.append(h('p', { class: 'info', role: 'status', text: ctx.notice }));
  ctx.append(form, status, h('h2', { id: 'att-list-h', text: 'Clients' }), count, list, more,
    h('div', { class: 'sticky-save' }, assignBtn));
  if (data) draw(0);
  else count.textContent = '';
}
