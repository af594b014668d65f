/* Who is signed in on this phone; sign out (never silently dropping unsynced records). */
import { h, applyTheme, themeChoice } from '../ui.js';

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
      msg.replaceChildren(h('p', { class: 'warning', text: (waiting === 1 ? '1 record has' : waiting + ' records have') + ' not synced yet. They stay on this phone and are sent after you sign in again.' }));
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
    appearance(),
    msg, out,
  );
}

/* Light, dark, or as the phone is set: applied at once, kept on this phone. */
function appearance() {
  const current = themeChoice();
  const options = [['auto', 'Same as the phone'], ['light', 'Light'], ['dark', 'Dark']];
  return h('fieldset', { class: 'appearance' }, h('legend', { text: 'Appearance' }),
    options.map(([value, text]) => h('label', { class: 'check' },
      h('input', { type: 'radio', name: 'theme', value, checked: value === current, onchange: () => applyTheme(value) }), text)));
}
