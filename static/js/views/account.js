/* Who is signed in on this phone; sign out (never silently dropping unsynced records). */
import { h } from '../ui.js';

export async function render(ctx) {
  const { db, api } = ctx.O;
  const p = ctx.profile;
  const waiting = await db.outboxCount();
  let persisted = null;
  try { persisted = navigator.storage && navigator.storage.persisted ? await navigator.storage.persisted() : null; } catch (_) { /* unknown */ }
  const out = h('button', { type: 'button', class: 'btn btn-danger btn-block', text: 'Sign out' });
  const msg = h('div', { 'aria-live': 'polite' });
  out.addEventListener('click', async () => {
    if (waiting && !out.dataset.confirmed) {
      out.dataset.confirmed = '1';
      out.textContent = 'Sign out anyway';
      msg.replaceChildren(h('p', { class: 'warning', text: waiting + ' records have not synced yet. They stay on this phone and are sent after you sign in again.' }));
      return;
    }
    await api.logout();
  });
  ctx.append(
    h('h1', { tabindex: '-1', text: 'Account' }),
    h('dl', { class: 'facts' },
      h('dt', { text: 'Name' }), h('dd', { text: p.name }),
      h('dt', { text: 'Email' }), h('dd', { text: p.email }),
      h('dt', { text: 'Role' }), h('dd', { text: p.role.replace('_', ' ') }),
      h('dt', { text: 'Team' }), h('dd', { text: p.team ? p.team.name : '—' }),
      h('dt', { text: 'Storage' }), h('dd', { text: persisted === true ? 'Kept (persistent)' : persisted === false ? 'May be cleared by the browser' : 'Unknown' })),
    msg, out,
  );
}
