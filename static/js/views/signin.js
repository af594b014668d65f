/* Sign in once while online; from then on the app works offline. */
import { h, field, errorSummary } from '../ui.js';

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
      const previous = await db.getMeta('user_id');
      const waiting = await db.outboxCount();
      const body = await api.login(email.input.value.trim(), password.input.value);
      if (previous != null && previous !== body.user.id && waiting > 0) {
        await api.logout();
        return fail([{ msg: 'This phone has ' + waiting + ' unsynced records from another worker. They must sign in and sync first.' }]);
      }
      if (previous != null && previous !== body.user.id) {
        // A different person on this phone: start from an empty store (nothing is waiting).
        const deviceId = await db.getMeta('device_id');
        await db.wipe();
        await db.setMeta({ device_id: deviceId });
      }
      await db.setMeta({ access_token: body.access_token, refresh_token: body.refresh_token, user_id: body.user.id });
      const me = await api.call('GET', '/api/v1/me');
      await db.setMeta({ profile: me });
      if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
      password.input.value = '';
      ctx.go('');
      ctx.runSync('login');
    } catch (e) {
      const msg = e instanceof api.NetworkError ? 'No connection. Sign in when you have signal.'
        : e.status === 429 ? 'Too many attempts. Wait a few minutes and try again.'
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
