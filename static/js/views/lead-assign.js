/* Team lead: give one or several clients another key worker of the team, with a reason.
   Needs the network (never queued); afterwards this phone pulls the change. */
import { h, field, select, errorSummary } from '../ui.js';
import {
  heading, known, who, born, ASSIGN_REASONS, reasonLabel, teamWorkers, overviewForForms,
  online, statusRegion, say,
} from './lead-common.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function describe(ctx, ids) {
  const out = [];
  for (const id of ids) {
    let c = known.get(id);
    if (!c) {
      const rec = await ctx.O.db.record('client', id).catch(() => null);
      if (rec && rec.data) c = Object.assign({ id }, rec.data);
    }
    out.push(c || { id, initials: 'Client ' + id.slice(0, 8) });
  }
  return out;
}

export async function render(ctx, args, query) {
  const ids = [...new Set((query.get('ids') || '').split(',').filter((x) => UUID.test(x)))].slice(0, 500);
  const back = query.get('back') === 'attention' ? '#/team/attention' : ids.length === 1 ? '#/team/client/' + ids[0] : '#/team';
  const title = ids.length > 1 ? 'Reassign ' + ids.length + ' clients' : 'Reassign client';
  ctx.append(heading(title));
  if (!ids.length) {
    ctx.append(h('p', { text: 'No clients were chosen. Pick clients on the attention list or a client’s page.' }), h('a', { class: 'btn', href: '#/team/attention', text: 'Clients needing attention' }));
    return;
  }
  const clients = await describe(ctx, ids);
  const overview = await overviewForForms(ctx);
  const workers = teamWorkers(overview);
  if (!navigator.onLine) {
    ctx.append(h('p', { class: 'warning', role: 'status', text: 'You’re offline. Reassigning needs a connection: you can fill this in, but nothing changes until you are online.' }));
  }
  if (!workers.length) {
    ctx.append(h('p', { class: 'warning', text: 'The team’s workers are not on this phone yet. Open the team overview while online, then come back.' }),
      h('a', { class: 'btn', href: back, text: 'Back' }));
    return;
  }
  const workerField = field('New key worker', select([{ value: '', label: 'Choose a worker' },
    ...workers.map((w) => ({ value: String(w.worker_id), label: w.name + (w.role === 'team_lead' ? ' (team lead)' : '') }))], '', { id: 'assign-worker', name: 'worker' }));
  const reasonField = field('Reason', select([{ value: '', label: 'Choose a reason' }, ...ASSIGN_REASONS], '', { id: 'assign-reason', name: 'reason' }),
    'Kept in the client’s history');
  const listed = clients.map((c) => h('li', { 'data-id': String(c.id) },
    h('span', { class: 'row-title', text: who(c) }), ' ', born(c),
    c.key_worker_name ? h('span', { class: 'row-meta', text: 'Key worker now: ' + c.key_worker_name }) : null));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: ids.length > 1 ? 'Reassign ' + ids.length + ' clients' : 'Reassign client' });
  const summary = h('div');
  const status = statusRegion('assign-status');
  const result = h('div', { id: 'assign-result' });
  const form = h('form', { novalidate: true, id: 'assign-form' }, workerField.wrap, reasonField.wrap, status, submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const errors = [];
    workerField.setError(null);
    reasonField.setError(null);
    if (!workerField.input.value) { errors.push({ msg: 'Choose the new key worker', target: 'assign-worker' }); workerField.setError('Choose the new key worker'); }
    if (!reasonField.input.value) { errors.push({ msg: 'Choose a reason', target: 'assign-reason' }); reasonField.setError('Choose a reason'); }
    summary.replaceChildren();
    if (errors.length) {
      const box = errorSummary(errors);
      summary.append(box);
      box.focus();
      return;
    }
    const workerId = Number(workerField.input.value);
    const reason = reasonField.input.value;
    submit.disabled = true;
    const out = await online(ctx, 'Reassigning', status, (api) => (ids.length === 1
      ? api.call('POST', '/api/v1/clients/' + ids[0] + '/assign', { worker_id: workerId, reason })
      : api.call('POST', '/api/v1/caseload/assign', { client_ids: ids, worker_id: workerId, reason })));
    submit.disabled = false;
    if (!out) { status.focus(); return; }
    const name = (workers.find((w) => w.worker_id === workerId) || {}).name || 'the worker';
    form.hidden = true;
    // The list above the confirmation shows the new key worker, not the old one.
    const moved = new Set((out.assigned || []).map(String));
    for (const li of listed) {
      if (moved.has(li.dataset.id)) {
        li.querySelector('.row-meta')?.remove();
        li.append(h('span', { class: 'row-meta', text: 'Key worker now: ' + name }));
      }
    }
    showResult(ctx, result, out, name, reason, back);
  });

  ctx.append(
    h('h2', { text: ids.length > 1 ? 'Clients' : 'Client' }),
    h('ul', { class: 'plain', id: 'assign-clients' }, listed),
    summary, form, result,
  );
}

async function showResult(ctx, box, out, name, reason, back) {
  const moved = (out.assigned || []).length;
  const same = (out.unchanged || []).length;
  const lines = [];
  lines.push(moved ? (moved === 1 ? '1 client now has ' : moved + ' clients now have ') + name + ' as key worker.' : 'Nothing changed.');
  if (same) lines.push(same === 1 ? '1 client already had ' + name + '.' : same + ' clients already had ' + name + '.');
  if (out.follow_ups_moved) lines.push(out.follow_ups_moved + (out.follow_ups_moved === 1 ? ' follow-up moved' : ' follow-ups moved') + ' with them.');
  lines.push('Reason: ' + reasonLabel(reason) + '.');
  const phone = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', text: 'Updating this phone…' });
  const title = h('h2', { tabindex: '-1', text: 'Reassigned' });
  box.replaceChildren(h('div', { class: 'info' }, title, ...lines.map((t) => h('p', { text: t }))), phone,
    h('div', { class: 'actions' }, h('a', { class: 'btn', href: back, text: 'Back' }), h('a', { class: 'btn', href: '#/team', text: 'Team overview' })));
  title.focus();
  // Pull the change into this phone's store (a sync already running may predate it).
  let outcome;
  for (let i = 0; i < 10; i++) {
    outcome = await ctx.runSync('reassign');
    if (outcome && outcome !== 'busy') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  say(phone, outcome === 'ok' ? 'This phone has the change.' : 'This phone will get the change at its next sync.');
}
