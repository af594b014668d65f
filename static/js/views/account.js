/* Who is signed in on this phone; appearance; change the PIN; sign out (offering to sync
   first, and never silently dropping unsynced records: they stay encrypted for this worker). */
import { h, field, errorSummary, applyTheme, themeChoice } from '../ui.js';
import * as session from '../core/session.js';

export async function render(ctx) {
  const { db, vault } = ctx.O;
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
      const syncNow = h('button', { type: 'button', class: 'btn btn-primary btn-block', text: 'Sync now' });
      syncNow.addEventListener('click', async () => {
        syncNow.disabled = true;
        const outcome = await ctx.runSync('manual');
        const left = await db.outboxCount();
        syncNow.disabled = false;
        if (!left) { ctx.flash('All records synced.'); ctx.go('account'); return; }
        msg.replaceChildren(h('p', { class: 'warning', text: outcome === 'offline'
          ? 'No connection: ' + records(left, 'is', 'are') + ' still waiting.'
          : records(left, 'is', 'are') + ' still waiting to sync.' }), syncNow);
      });
      msg.replaceChildren(
        h('p', { class: 'warning', text: records(waiting) + ' not synced yet. Sync now if you have signal. If you sign out anyway, they stay on this phone, encrypted, and are sent the next time you sign in here; nobody else can read them.' }),
        syncNow,
      );
      return;
    }
    out.disabled = true;
    await session.signOut();
  });
  ctx.append(
    h('h1', { tabindex: '-1', text: 'Account' }),
    ctx.notice ? h('p', { class: 'info', role: 'status', text: ctx.notice }) : null,
    h('dl', { class: 'facts' },
      h('dt', { text: 'Name' }), h('dd', { text: p.name }),
      h('dt', { text: 'Email' }), h('dd', { text: p.email }),
      h('dt', { text: 'Role' }), h('dd', { text: p.role.replace('_', ' ') }),
      h('dt', { text: 'Team' }), h('dd', { text: p.team ? p.team.name : '—' }),
      h('dt', { text: 'Storage' }), h('dd', { text: persisted === true ? 'Kept (persistent)' : persisted === false ? 'May be cleared by the browser' : 'Unknown' })),
    appearance(),
    changePin(ctx, vault),
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

function changePin(ctx, vault) {
  const current = field('Current PIN', h('input', { type: 'password', name: 'current-pin', autocomplete: 'current-password', required: true }));
  const next = field('New PIN', h('input', { type: 'password', name: 'new-pin', autocomplete: 'new-password', required: true }), '6 digits or more. A longer passphrase is fine.');
  const status = h('div', { class: 'form-status' });
  const button = h('button', { type: 'submit', class: 'btn btn-block', text: 'Change PIN' });
  const form = h('form', { novalidate: true, 'aria-labelledby': 'pin-title' },
    h('h2', { id: 'pin-title', text: 'PIN' }), status, current.wrap, next.wrap, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    current.setError(null);
    next.setError(null);
    const problem = vault.pinProblem(next.input.value);
    const errors = [];
    if (!current.input.value) { current.setError('Enter your current PIN'); errors.push({ msg: 'Enter your current PIN', target: current.input.id }); }
    if (problem) { next.setError(problem); errors.push({ msg: problem, target: next.input.id }); }
    if (!errors.length && !(await vault.checkPin(current.input.value))) {
      current.setError('That is not your current PIN');
      errors.push({ msg: 'That is not your current PIN', target: current.input.id });
    }
    if (errors.length) {
      const box = errorSummary(errors);
      status.replaceChildren(box);
      box.focus();
      return;
    }
    button.disabled = true;
    try {
      await session.setPin(next.input.value);
      current.input.value = next.input.value = '';
      status.replaceChildren(h('p', { class: 'info', role: 'status', text: 'Your PIN has changed.' }));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/* "1 record has", "3 records have": never "1 records". */
function records(n, one = 'has', many = 'have') {
  return n === 1 ? '1 record ' + one : n + ' records ' + many;
}
