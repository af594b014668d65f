/* Open follow-ups for the team, soonest first; mine listed first. */
import { h, clientName } from '../ui.js';
import { loadAll, openFollowUps } from '../data.js';
import { followUpItem } from './client.js';

export const live = true;

export async function render(ctx) {
  const all = await loadAll();
  const names = new Map(all.clients.map((c) => [c.id, clientName(c.data)]));
  const open = openFollowUps(all);
  const me = ctx.profile.id;
  const mine = open.filter((f) => f.rec.data.assigned_to == null || f.rec.data.assigned_to === me || f.rec.data.assigned_to_id === me);
  const others = open.filter((f) => !mine.includes(f));
  const list = (items) => items.length
    ? h('ul', { class: 'list' }, items.map((f) => followUpItem(ctx, f, h('a', { href: '#/client/' + encodeURIComponent(f.client_id), text: names.get(f.client_id) || 'Client' }))))
    : h('p', { class: 'muted', text: 'None.' });
  ctx.append(
    h('h1', { tabindex: '-1', text: 'Follow-ups' }),
    ctx.notice ? h('p', { class: 'info', role: 'status', text: ctx.notice }) : null,
    h('h2', { text: 'Mine (' + mine.length + ')' }), list(mine),
    h('h2', { text: 'Rest of the team (' + others.length + ')' }), list(others),
  );
}
