/* Open follow-ups for the team, soonest first; mine listed first. Which follow-ups are
   open comes from the caseload index; only those records are read. */
import { h, clientName } from '../ui.js';
import { caseIndex, live as isLive } from '../data.js';
import { followUpItem } from './client.js';

export const live = true;

export async function render(ctx) {
  const index = await caseIndex();
  const items = index.openFollowUps();
  const recs = await ctx.O.db.byKeys(items.map((f) => f.key));
  const open = [];
  items.forEach((f, i) => {
    const rec = recs[i];
    if (!isLive(rec)) return;
    open.push(Object.assign({}, f, { rec, reason: (f.kind === 'follow_up' && rec.data.reason) || 'Follow up' }));
  });
  const name = (id) => { const c = index.client(id); return c ? clientName(c) : 'Client'; };
  const me = ctx.profile.id;
  const mine = open.filter((f) => f.kind !== 'follow_up' || f.rec.data.assigned_to == null || f.rec.data.assigned_to === me || f.rec.data.assigned_to_id === me);
  const others = open.filter((f) => !mine.includes(f));
  const list = (rows) => rows.length
    ? h('ul', { class: 'list' }, rows.map((f) => followUpItem(ctx, f, h('a', { href: '#/client/' + encodeURIComponent(f.client_id), text: name(f.client_id) }))))
    : h('p', { class: 'muted', text: 'None.' });
  ctx.append(
    h('h1', { tabindex: '-1', text: 'Follow-ups' }),
    ctx.notice ? h('p', { class: 'info', role: 'status', text: ctx.notice }) : null,
    h('h2', { text: 'Mine (' + mine.length + ')' }), list(mine),
    h('h2', { text: 'Rest of the team (' + others.length + ')' }), list(others),
  );
}
