/* The API client: bearer tokens from IndexedDB, one refresh at a time (refresh tokens
   rotate and a reused one ends the session), revoked devices wiped. Plain script, shared
   by the page and the service worker. */
(function (g) {
  'use strict';
  const O = g.Outreach;
  const db = O.db;
  const channel = 'BroadcastChannel' in g ? new BroadcastChannel('outreach') : null;
  const listeners = new Set();

  function emit(type, detail) {
    for (const fn of listeners) { try { fn(type, detail); } catch (e) { console.error(e); } }
    if (channel) channel.postMessage({ type, detail });
  }
  function on(fn) { listeners.add(fn); return () => listeners.delete(fn); }
  if (channel) channel.onmessage = (e) => { for (const fn of listeners) fn(e.data.type, e.data.detail, true); };

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || 'HTTP ' + status);
      this.status = status;
      this.body = body || {};
      this.code = this.body.code;
    }
  }
  class NetworkError extends Error {}
  class SignedOut extends Error {}

  /* One holder of a named lock at a time, in every tab and the service worker. */
  const memLocks = new Map();
  function withLock(name, opts, fn) {
    if (g.navigator && navigator.locks) return navigator.locks.request(name, opts, fn);
    const prev = memLocks.get(name);
    if (prev && opts.ifAvailable) return Promise.resolve(fn(null));
    const run = (prev || Promise.resolve()).then(() => fn({ name }));
    const tail = run.catch(() => {});
    memLocks.set(name, tail);
    tail.then(() => { if (memLocks.get(name) === tail) memLocks.delete(name); });
    return run;
  }

  function expiresSoon(token, marginSeconds) {
    try {
      const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const claims = JSON.parse(atob(part));
      return claims.exp * 1000 - Date.now() < marginSeconds * 1000;
    } catch (_) {
      return true;
    }
  }

  async function rawFetch(path, opts) {
    let res;
    try {
      res = await fetch(path, Object.assign({ cache: 'no-store', credentials: 'omit' }, opts));
    } catch (e) {
      throw new NetworkError('No connection');
    }
    let body = null;
    const type = res.headers.get('Content-Type') || '';
    if (type.includes('json')) {
      try { body = await res.json(); } catch (_) { body = null; }
    }
    return { res, body };
  }

  /* Revoked: delete every local record, token and key, then tell every tab. */
  async function wipeDevice() {
    await db.wipe();
    if (O.vault) await O.vault.clear();
    emit('wiped');
  }

  async function endSession(reason) {
    await db.setMeta({ access_token: undefined, refresh_token: undefined });
    emit('signed-out', { reason: reason || 'ended' });
  }

  async function handleAuthFailure(status, body) {
    if (status === 401 && body && body.code === 'device_revoked') {
      await wipeDevice();
      throw new SignedOut('device_revoked');
    }
    await endSession();
    throw new SignedOut((body && body.message) || 'Sign in again.');
  }

  /* POST the refresh token. A response lost on the way back (the server rotated, the
     phone never heard) is retried at once with the same token: the server answers a
     retry of the token it just rotated with the same successor family for a short grace
     window (OUTREACH_REFRESH_GRACE_SECONDS), so the worker stays signed in. Left to
     the next sync a minute later, the retry would fall outside that window. */
  const REFRESH_RETRY_MS = [500, 1500, 4000];
  async function refreshFetch(token) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await rawFetch('/api/v1/auth/refresh', { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
      } catch (e) {
        const offline = g.navigator && navigator.onLine === false;
        if (!(e instanceof NetworkError) || offline || attempt >= REFRESH_RETRY_MS.length) throw e;
        await new Promise((resolve) => setTimeout(resolve, REFRESH_RETRY_MS[attempt]));
      }
    }
  }

  /* Spend the refresh token for a new pair, unless another tab already did. */
  async function refresh(staleAccess) {
    return withLock('outreach-auth', {}, async () => {
      const meta = await db.allMeta();
      if (!meta.refresh_token) throw new SignedOut('Sign in again.');
      if (meta.access_token && meta.access_token !== staleAccess && !expiresSoon(meta.access_token, 30)) {
        return meta.access_token;
      }
      const { res, body } = await refreshFetch(meta.refresh_token);
      if (res.ok && body && body.access_token) {
        await db.setMeta({ access_token: body.access_token, refresh_token: body.refresh_token });
        return body.access_token;
      }
      if (res.status === 401 || res.status === 422) return handleAuthFailure(res.status, body);
      throw new ApiError(res.status, body);
    });
  }

  async function accessToken() {
    const token = await db.getMeta('access_token');
    if (token && !expiresSoon(token, 60)) return token;
    return refresh(token);
  }

  /* Call the API as the signed-in device. Throws NetworkError, SignedOut or ApiError. */
  async function call(method, path, json) {
    let token = await accessToken();
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers = { Authorization: 'Bearer ' + token };
      const opts = { method, headers };
      if (json !== undefined) {
        headers['Content-Type'] = 'application/json';
        opts.body = JSON.stringify(json);
      }
      const { res, body } = await rawFetch(path, opts);
      if (res.ok) return body;
      if (res.status === 401) {
        if ((body && body.code === 'device_revoked') || attempt === 1) return handleAuthFailure(401, body);
        token = await refresh(token);
        continue;
      }
      throw new ApiError(res.status, body);
    }
    throw new SignedOut('Sign in again.');
  }

  /* A file (PDF, CSV) from the API as a Blob, with the same token handling. */
  async function download(path) {
    let token = await accessToken();
    for (let attempt = 0; attempt < 2; attempt++) {
      let res;
      try {
        res = await fetch(path, { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store', credentials: 'omit' });
      } catch (_) {
        throw new NetworkError('No connection');
      }
      if (res.ok) return res.blob();
      const body = await res.json().catch(() => null);
      if (res.status === 401 && attempt === 0 && !(body && body.code === 'device_revoked')) { token = await refresh(token); continue; }
      if (res.status === 401) return handleAuthFailure(401, body);
      throw new ApiError(res.status, body);
    }
    throw new SignedOut('Sign in again.');
  }

  async function deviceId() {
    let id = await db.getMeta('device_id');
    if (!id) {
      id = g.crypto.randomUUID ? crypto.randomUUID() : uuid();
      await db.setMeta({ device_id: id });
    }
    return id;
  }

  function uuid() {
    if (g.crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  /* extra: key_generation, pin_failures, waiting_for_user_id (see js/core/session.js). */
  async function login(email, password, extra) {
    const id = await deviceId();
    const { res, body } = await rawFetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(Object.assign({ email, password, device_id: id, device_label: deviceLabel() }, extra || {})),
    });
    if (!res.ok) {
      if (res.status === 401 && body && body.code === 'device_revoked') {
        await db.wipe();
        if (O.vault) await O.vault.clear();
        throw new ApiError(401, { message: 'This phone was revoked and has been wiped. Sign in again.' });
      }
      throw new ApiError(res.status, body);
    }
    if (body.device_id && body.device_id !== id) await db.setMeta({ device_id: body.device_id });
    return body;
  }

  function deviceLabel() {
    const ua = (g.navigator && navigator.userAgent) || '';
    if (/iPhone|iPad/.test(ua)) return 'iPhone (web app)';
    if (/Android/.test(ua)) return 'Android phone (web app)';
    return 'Browser (web app)';
  }

  /* End the session on the server (best effort: offline, the tokens are dropped anyway). */
  async function logout() {
    try {
      const token = await db.getMeta('access_token');
      if (token) await rawFetch('/api/v1/auth/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
    } catch (_) { /* offline, or locked: the tokens are dropped locally anyway */ }
  }

  O.api = { call, download, login, logout, endSession, refresh, deviceId, uuid, on, emit, withLock, wipeDevice, ApiError, NetworkError, SignedOut };
})(self);
