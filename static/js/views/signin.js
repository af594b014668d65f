/* Sign in with the password while online; then a PIN opens the app, offline too. */
import { h, field, errorSummary } from '../ui.js';
import * as session from '../core/session.js';

export async function render(ctx) {
  const { O } = ctx;
  const { api, db } = O;
  const email = field('Email', h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, inputmode: 'email', autocapitalize: 'none', spellcheck: 'false' }));
  const password = field('Password', h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true }));
  const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Sign in' });
  const status = h('div', { class: 'form-status' });
  const form = h('form', { novalidate: true, 'aria-labelledby': 'signin-title' }, status, email.wrap, password.wrap, button);
  ctx.append(
    h('h1', { id: 'signin-title', tabindex: '-1', text: 'Sign in' }),
    ctx.notice ? h('p', { class: 'info', role: 'status', text: ctx.notice }) : null,
    h('p', { class: 'muted', text: 'Sign in once while you have signal. After that, Outreach works without a connection.' }),
    form,
  );

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    email.setError(null);
    password.setError(null);
    const errors = [];
    if (!email.input.value.trim()) { email.setError('Enter your email address'); errors.push({ msg: 'Enter your email address', target: email.input.id }); }
    if (!password.input.value) { password.setError('Enter your password'); errors.push({ msg: 'Enter your password', target: password.input.id }); }
    if (errors.length) return fail(errors);
    if (!navigator.onLine) return fail([{ msg: 'You are offline. Sign in when you have signal.' }]);
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      await session.signIn(email.input.value.trim(), password.input.value);
      password.input.value = '';
      ctx.go('');
      ctx.runSync('login');
    } catch (e) {
      const msg = e instanceof api.NetworkError ? 'No connection. Sign in when you have signal.'
        : e.status === 429 ? 'Too many attempts. Wait a few minutes and try again.'
        : e.status === 409 ? 'This phone has records of another worker that have not synced yet. They must sign in on this phone and sync first: nothing has changed here.'
        : (e.body && e.body.message) || e.message || 'Sign-in failed.';
      fail([{ msg }]);
    } finally {
      button.disabled = false;
      button.textContent = 'Sign in';
    }
  });

  function fail(errors) {
    const box = errorSummary(errors);
    status.replaceChildren(box);
    box.focus();
  }
}
