/* One client: details, open follow-ups, recent contacts, and what is waiting to sync. */
import { h, fmtDate, fmtDateTime, clientName, statusTag } from '../ui.js';
import { clientRecords, openFollowUps, followUpState, typeLabel, label, editable } from '../data.js';
import { problemBlock } from './problems.js';
import { ownClient, SHARED_NOTE } from './pathway-data.js';

export const live = true;

export async function render(ctx, [id]) {
  const all = await clientRecords(id);
  const rec = all.client;
  if (!rec) {
    ctx.append(h('h1', { tabindex: '-1', text: 'Client not found' }), h('p', { text: 'This client is no longer in your team’s caseload.' }), h('a', { href: '#/caseload', class: 'btn', text: 'Back to caseload' }));
    return;
  }
  const d = rec.data;
  const sexes = ctx.codes.sexes || [];
  const follow = openFollowUps(all).filter((f) => f.client_id === id);
  const contacts = all.interventions.slice().sort((a, b) => (b.data.occurred_at || '').localeCompare(a.data.occurred_at || ''));

  ctx.append(
    h('h1', { tabindex: '-1' }, 'Client ', clientName(d), statusTag(rec)),
    ctx.notice ? h('p', { class: 'info', role: 'status', text: ctx.notice }) : null,
    ownClient(rec, ctx.profile) ? null : h('p', { class: 'info', text: SHARED_NOTE }),
    problemBlock(ctx, rec),
    await quickActions(ctx, id),
    h('div', { class: 'actions' },
      h('a', { class: 'btn btn-primary', href: '#/record?client=' + encodeURIComponent(id), text: 'Record intervention' }),
      ownClient(rec, ctx.profile) ? h('a', { class: 'btn', href: '#/client-form/' + encodeURIComponent(id), text: 'Edit client' }) : null,
      h('a', { class: 'btn', href: '#/pathway/' + encodeURIComponent(id), text: 'Refer and pathway' }),
      ctx.profile.role === 'team_lead' ? h('a', { class: 'btn', href: '#/team/client/' + encodeURIComponent(id), text: 'History and reassign' }) : null),
    h('dl', { class: 'facts' },
      h('dt', { text: 'Initials' }), h('dd', { text: d.initials }),
      h('dt', { text: 'Known as' }), h('dd', { text: d.known_as || '—' }),
      h('dt', { text: 'Date of birth' }), h('dd', { text: fmtDate(d.date_of_birth) }),
      h('dt', { text: 'Sex' }), h('dd', { text: label(sexes, d.sex) }),
      h('dt', { text: 'Postcode district' }), h('dd', { text: d.postcode_district || '—' })),
    h('h2', { text: 'Follow-ups' }),
    follow.length ? h('ul', { class: 'list' }, follow.map((f) => followUpItem(ctx, f))) : h('p', { class: 'muted', text: 'No open follow-ups.' }),
    h('h2', { text: 'Contacts' }),
    contacts.length ? h('ul', { class: 'list' }, contacts.map((i) => contactItem(ctx, i))) : h('p', { class: 'muted', text: 'No contacts recorded yet.' }),
  );
}

export function followUpItem(ctx, f, withClient) {
  const st = followUpState(f.due_on);
  const btn = h('button', { type: 'button', class: 'btn btn-small', text: 'Mark done' });
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    await completeFollowUp(ctx, f);
    ctx.flash('Follow-up marked done.');
    ctx.go(location.hash.replace(/^#\//, ''));
    ctx.runSync('save');
  });
  return h('li', {}, h('div', { class: 'row' },
    h('span', { class: 'row-title' }, withClient ? [withClient, ' · '] : null, 'Due ' + fmtDate(f.due_on)),
    st === 'overdue' ? h('span', { class: 'tag tag-overdue', text: 'Overdue' }) : st === 'due' ? h('span', { class: 'tag tag-due', text: 'Due today' }) : null,
    statusTag(f.rec),
    h('span', { class: 'row-meta', text: f.reason }),
    h('div', { class: 'actions' }, btn)));
}

export async function completeFollowUp(ctx, f) {
  const { sync, api } = ctx.O;
  const now = new Date().toISOString();
  if (f.kind === 'follow_up') {
    await sync.mutate('follow_up', 'upsert', f.id, Object.assign({}, f.rec.data, { done_at: now }));
  } else {
    // Made offline from an intervention: record the follow-up as done.
    await sync.mutate('follow_up', 'upsert', api.uuid(), {
      client_id: f.client_id, due_on: f.due_on, reason: f.reason, intervention_id: f.id, done_at: now,
      assigned_to: ctx.profile.id,
    });
  }
}

function contactItem(ctx, i) {
  const d = i.data;
  const parts = [label(ctx.codes.locations, d.location)];
  if (d.quantity != null) parts.push(((ctx.codes.intervention_types || []).find((t) => t.code === d.type)?.quantity_label || 'Quantity') + ': ' + d.quantity);
  if (d.referral_to) parts.push('Referred to ' + d.referral_to);
  const body = [
    h('span', { class: 'row-title', text: typeLabel(ctx.codes, d.type) }), statusTag(i),
    h('span', { class: 'row-meta', text: fmtDateTime(d.occurred_at) + ' · ' + parts.join(' · ') }),
  ];
  return h('li', {}, editable(i, ctx.profile)
    ? h('a', { class: 'row', href: '#/record/' + encodeURIComponent(i.id), 'aria-label': 'Edit ' + typeLabel(ctx.codes, d.type) + ', ' + fmtDateTime(d.occurred_at) }, ...body)
    : h('div', { class: 'row' }, ...body));
}

/* The worker's most used types, one tap from the client (the form opens filled in: Save
   is the second tap). Nothing until the worker has recorded something on this phone. */
async function quickActions(ctx, id) {
  const uses = ((await ctx.O.db.getMeta('last_used')) || {}).uses || {};
  const top = Object.entries(uses).sort((a, b) => b[1] - a[1]).slice(0, 2).map(([code]) => code)
    .filter((code) => (ctx.codes.intervention_types || []).some((t) => t.code === code));
  if (!top.length) return null;
  return h('div', { class: 'actions quick', role: 'group', 'aria-label': 'Quick record' }, top.map((code) =>
    h('a', { class: 'btn', href: '#/record?client=' + encodeURIComponent(id) + '&type=' + encodeURIComponent(code), text: 'Record ' + typeLabel(ctx.codes, code).toLowerCase() })));
}
