/* Who may use this phone, tab by tab: password sign-in, sign-out, the PIN lock, the
   auto-lock after inactivity. One tab, one identity: sign-in and sign-out are serialised
   across tabs (Web Locks), a sign-in tells every other tab, which locks (its data key is
   no longer the phone's), and nothing another worker typed is deleted by a sign-in: the
   server refuses a second worker while the first one's records wait (sent with the
   login: `waiting_for_user_id`), before the device changes hands. */
const O = self.Outreach;
const { db, api, vault } = O;

const RENEW_EVERY_MS = 60 * 60 * 1000;
const CLEAR_META = ['device_id', 'user_id'];
let lastActive = Date.now();
let lastRenew = 0;

/* Sign in with the password (online). Resolves with the login body; throws ApiError
   (409: another worker's records wait here), NetworkError. */
export async function signIn(email, password) {
  return api.withLock('outreach-session', {}, async () => {
    const held = await vault.read();
    const previous = await db.getMeta('user_id');
    const waiting = await db.outboxCount();
    const body = await api.login(email, password, {
      key_generation: held && held.recovery_wrap ? held.generation : null,
      pin_failures: (held && held.unreported) || 0,
      waiting_for_user_id: waiting > 0 && previous != null ? previous : null,
    });
    if (held && held.unreported) await vault.takeUnreported();
    const userId = body.user.id;
    // Another tab may have saved a record while the request was out: look again, and take
    // the new key in the same breath (a writer holding the old key is refused from then).
    const { outcome, refused } = await db.exclusive(async () => {
      const owner = await db.getMeta('user_id');
      const nowWaiting = await db.outboxCount();
      if (nowWaiting > 0 && owner != null && owner !== userId) return { refused: nowWaiting };
      return vault.adopt(userId, body.device_key);
    });
    if (refused) {
      await endSession(body.access_token);
      throw new api.ApiError(409, { message: 'another worker' });
    }
    if (outcome === 'fresh') await startAfresh(previous === userId && waiting > 0);
    await db.setMeta({ access_token: body.access_token, refresh_token: body.refresh_token, user_id: userId });
    api.emit('session', { user_id: userId, kid: vault.keyId() });
    const me = await api.call('GET', '/api/v1/me');
    await db.setMeta({ profile: me });
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
    return body;
  });
}

/* End a session the phone will not use (refused locally after the server's yes). */
async function endSession(accessToken) {
  try {
    await fetch('/api/v1/auth/logout', { method: 'POST', cache: 'no-store', credentials: 'omit', headers: { Authorization: 'Bearer ' + accessToken } });
  } catch (_) { /* offline: the tokens are never stored, so they are never used */ }
}

/* A new data key: what the phone held under the old one can no longer be read (another
   worker's synced records, or this worker's after the device's secrets were destroyed). */
async function startAfresh(sameWorkerWaiting) {
  if (sameWorkerWaiting) {
    // This worker's records stored in clear before the lock came: seal them, lose nothing.
    try { await db.sealPlain(); return; } catch (_) { /* sealed under a key that is gone */ }
  }
  const deviceId = await db.getMeta('device_id');
  await db.wipe();
  await db.setMeta({ device_id: deviceId });
}

/* Sign out: the server ends the session; every personal record leaves the phone except
   those still waiting to sync, which stay encrypted under a key only this worker's next
   password sign-in can unwrap. */
export async function signOut() {
  return api.withLock('outreach-session', {}, async () => {
    await api.logout();
    const waiting = await db.outboxCount();
    if (waiting) {
      await keepOnlyWaiting();
      await vault.keepForRecovery();
    } else {
      const deviceId = await db.getMeta('device_id');
      await db.wipe();
      await db.setMeta({ device_id: deviceId });
      await vault.clear();
    }
    api.emit('signed-out', { reason: 'logout', waiting });
    return waiting;
  });
}

async function keepOnlyWaiting() {
  await db.tx(['records', 'outbox', 'meta', 'cache'], 'readwrite', async (s) => {
    const keep = new Set((await db.req(s.outbox.getAll())).map((e) => e.key));
    for (const k of await db.req(s.records.getAllKeys())) if (!keep.has(k)) s.records.delete(k);
    for (const k of await db.req(s.meta.getAllKeys())) if (!CLEAR_META.includes(k)) s.meta.delete(k);
    for (const k of await db.req(s.cache.getAllKeys())) s.cache.delete(k);
  });
}

/* Unlock with the PIN; report wrong PINs and renew the lease once online. */
export async function unlock(pin) {
  const result = await vault.unlock(pin);
  if (result.ok) {
    lastActive = Date.now();
    afterUnlock();
  }
  return result;
}

export async function setPin(pin) {
  await vault.setPin(pin);
  lastActive = Date.now();
  api.emit('pin-set', {});
  afterUnlock();
}

function afterUnlock() {
  if (!navigator.onLine) return;
  reportFailures().catch(() => {});
  renewLease(true).catch(() => {});
}

async function reportFailures() {
  const n = await vault.takeUnreported();
  if (!n) return;
  try {
    await api.call('POST', '/api/v1/auth/pin-failures', { count: n, key_forgotten: false });
  } catch (e) {
    // Not sent: counted again for the next report (the next sign-in at the latest).
    await vault.addUnreported(n);
    throw e;
  }
}

/* While unlocked and online, the server's unlock secret again: the offline lease starts
   again without a password. */
export async function renewLease(force) {
  if (!vault.isUnlocked() || !navigator.onLine) return;
  if (!force && Date.now() - lastRenew < RENEW_EVERY_MS) return;
  lastRenew = Date.now();
  const lease = await api.call('POST', '/api/v1/auth/device-key');
  await vault.renew(lease);
}

export function lockNow(reason) {
  vault.lock(reason || 'locked');
}

/* ---------- inactivity ---------- */

export function noteActivity() {
  lastActive = Date.now();
}

/* Lock when unused for the server's lock_minutes; called by a timer and on return to
   the tab (page.clock in tests drives both). */
export async function checkIdle() {
  if (!vault.isUnlocked()) return false;
  const v = await vault.read();
  const minutes = (v && v.lock_minutes) || 5;
  if (Date.now() - lastActive >= minutes * 60 * 1000) {
    lockNow('idle');
    return true;
  }
  // A lease that runs out while unlocked leaves the key in memory until the next lock.
  await vault.expireLease();
  return false;
}
