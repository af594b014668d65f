/* The lock screen: choose a PIN after a password sign-in, or unlock with it (offline
   too). Nothing personal is on this screen: no name, no record, no count. */
import { h, field, errorSummary } from '../ui.js';
import * as session from '../core/session.js';
import { prefetchIndex } from '../data.js';

export async function render(ctx, args, query, mode) {
  const choosing = mode === 'needs-pin';
  const pin = field('PIN', h('input', {
    type: 'password', name: 'pin', required: true, minlength: String(ctx.O.vault.MIN_PIN),
    autocomplete: choosing ? 'new-password' : 'current-password', autocapitalize: 'none', spellcheck: 'false',
  }), choosing ? '6 digits or more. A longer passphrase is fine.' : null);
  const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: choosing ? 'Set PIN' : 'Unlock' });
  const status = h('div', { class: 'form-status' });
  const form = h('form', { novalidate: true, 'aria-labelledby': 'lock-title' }, status, pin.wrap, button);
  ctx.append(
    h('h1', { id: 'lock-title', tabindex: '-1', text: choosing ? 'Choose a PIN for this phone' : 'Outreach is locked' }),
    ctx.notice ? h('p', { class: 'info', role: 'status', text: ctx.notice }) : null,
    h('p', { class: 'muted', text: choosing
      ? 'Your records on this phone are encrypted. You will need this PIN to open Outreach, with or without signal.'
      : 'Enter your PIN to unlock. It works without signal.' }),
    form,
  );
  // The saved caseload index is read (still sealed) while the PIN is typed: once the key
  // is unwrapped, one decryption and the caseload is drawn.
  if (!choosing) prefetchIndex();
  if (!choosing) {
    const forgot = h('button', { type: 'button', class: 'btn btn-block', text: 'Forgotten your PIN? Sign in with your password' });
    forgot.addEventListener('click', () => {
      ctx.flash('Sign in with your password (you need signal). Nothing you recorded is lost.');
      ctx.showSignIn();
    });
    ctx.append(forgot);
  }

  let busy = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    pin.setError(null);
    const value = pin.input.value;
    const problem = choosing ? ctx.O.vault.pinProblem(value) : (value ? null : 'Enter your PIN');
    if (problem) {
      pin.setError(problem);
      return fail([{ msg: problem, target: pin.input.id }]);
    }
    busy = true;
    button.disabled = true;
    try {
      if (choosing) {
        await session.setPin(value);
      } else {
        const result = await session.unlock(value);
        if (!result.ok) {
          pin.input.value = '';
          if (result.reason === 'wrong') {
            const msg = 'Wrong PIN. ' + result.remaining + (result.remaining === 1 ? ' try' : ' tries') + ' left before this phone asks for your password.';
            pin.setError('Wrong PIN');
            return fail([{ msg, target: pin.input.id }]);
          }
          ctx.flash(result.reason === 'forgotten'
            ? 'Too many wrong PINs: this phone has put your records away. Sign in with your password (you need signal): nothing you recorded is lost.'
            : 'You have not been online for a while, so this phone needs your password. Sign in when you have signal: nothing you recorded is lost.');
        }
      }
      pin.input.value = '';
      ctx.go(location.hash.replace(/^#\/?/, ''));
    } catch (e) {
      fail([{ msg: e.message || 'That did not work. Try again.' }]);
    } finally {
      busy = false;
      button.disabled = false;
    }
  });

  function fail(errors) {
    const box = errorSummary(errors);
    status.replaceChildren(box);
    box.focus();
  }
}
