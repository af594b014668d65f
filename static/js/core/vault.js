/* The phone's lock (DESIGN §6, device protection): a random AES-GCM data key that
   encrypts everything personal at rest, kept in storage only wrapped:
   - under a key from PBKDF2-SHA-256 (600,000 iterations, OWASP's figure) of the PIN,
     salted with a random salt and the device's *unlock secret* from the server. The phone
     keeps that secret for its offline lease only; after the lease, or after too many
     wrong PINs, it is deleted and only a password sign-in gets it back;
   - under the device's *recovery key*, which the server hands over once per password
     sign-in and the phone never keeps: a forgotten PIN costs a sign-in, never data.
   The unwrapped key lives in this context's memory while unlocked, nowhere else.
   Everything here is in its own IndexedDB database (`outreach-vault`), so wiping the
   records store leaves the lock as it was, and the reverse. Plain script: the page and
   the service worker both load it (the service worker is never unlocked). */
(function (g) {
  'use strict';
  const O = (g.Outreach = g.Outreach || {});
  const subtle = g.crypto && g.crypto.subtle;
  const NAME = 'outreach-vault';
  const ITERATIONS = 600000;
  const MIN_PIN = 6;
  const enc = new TextEncoder();
  const dec = new TextDecoder();

  let opening = null;
  let dataKey = null; // CryptoKey while unlocked
  let keyId = null; // which data key is in memory (the vault's `kid`)
  const listeners = new Set();

  /* ---------- storage of the vault record ---------- */

  function open() {
    if (opening) return opening;
    opening = new Promise((resolve, reject) => {
      const r = indexedDB.open(NAME, 1);
      r.onupgradeneeded = () => r.result.createObjectStore('vault');
      r.onsuccess = () => {
        const db = r.result;
        db.onversionchange = () => { db.close(); opening = null; };
        resolve(db);
      };
      r.onerror = () => { opening = null; reject(r.error); };
    });
    return opening;
  }

  async function read() {
    const db = await open();
    return new Promise((resolve, reject) => {
      const r = db.transaction('vault', 'readonly').objectStore('vault').get('v');
      r.onsuccess = () => resolve(r.result || null);
      r.onerror = () => reject(r.error);
    });
  }

  async function write(v) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const t = db.transaction('vault', 'readwrite');
      if (v) t.objectStore('vault').put(v, 'v'); else t.objectStore('vault').delete('v');
      t.oncomplete = () => resolve();
      t.onabort = t.onerror = () => reject(t.error);
    });
  }

  /* Change the vault record under one lock (every tab and the service worker). */
  function update(fn) {
    const run = async () => {
      const v = await read();
      const next = await fn(v);
      if (next !== undefined) await write(next);
      return next === undefined ? v : next;
    };
    if (g.navigator && navigator.locks) return navigator.locks.request('outreach-vault', run);
    return run();
  }

  /* ---------- bytes ---------- */

  const random = (n) => g.crypto.getRandomValues(new Uint8Array(n));
  function fromB64(s) {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function concat(a, b) {
    const out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }
  const hex = (bytes) => [...bytes].map((x) => x.toString(16).padStart(2, '0')).join('');

  /* ---------- keys ---------- */

  async function pinKey(pin, salt, unlockSecret, iterations) {
    const material = await subtle.importKey('raw', enc.encode(pin.normalize('NFKC')), 'PBKDF2', false, ['deriveKey']);
    return subtle.deriveKey(
      { name: 'PBKDF2', hash: 'SHA-256', salt: concat(salt, fromB64(unlockSecret)), iterations },
      material, { name: 'AES-GCM', length: 256 }, false, ['wrapKey', 'unwrapKey'],
    );
  }
  const secretKey = (b64) => subtle.importKey('raw', fromB64(b64), 'AES-GCM', false, ['wrapKey', 'unwrapKey']);

  async function wrapUnder(kek, key) {
    const iv = random(12);
    return { iv, ct: await subtle.wrapKey('raw', key, kek, { name: 'AES-GCM', iv }) };
  }
  function unwrapUnder(kek, w) {
    return subtle.unwrapKey('raw', w.ct, kek, { name: 'AES-GCM', iv: w.iv }, { name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
  }

  /* ---------- state ---------- */

  function emit(type) {
    for (const fn of listeners) { try { fn(type); } catch (e) { console.error(e); } }
  }
  function on(fn) { listeners.add(fn); return () => listeners.delete(fn); }

  function leaseOver(v, now) {
    return !v.unlock_secret || !v.lease_until || (now || Date.now()) >= v.lease_until;
  }

  /* Drop what the lease no longer allows: the unlock secret (and with it the PIN's use). */
  async function expireLease() {
    const v = await read();
    if (!v || !v.unlock_secret || !leaseOver(v)) return false;
    await update((cur) => {
      if (!cur || !leaseOver(cur)) return undefined;
      return Object.assign({}, cur, { unlock_secret: null, lease_until: null });
    });
    return true;
  }

  /* What the lock screen must show:
     none       no key on this phone: sign in with the password;
     needs-pin  signed in with the password, key in memory, no PIN set yet;
     locked     a PIN opens it;
     expired    the offline lease is over: sign in with the password (online);
     forgotten  too many wrong PINs, or never set: sign in with the password;
     unlocked   the data key is in memory. */
  async function status() {
    await expireLease();
    const v = await read();
    if (!v || !v.recovery_wrap) return { state: 'none', vault: v };
    if (dataKey && keyId === v.kid) return { state: v.pin_wrap ? 'unlocked' : 'needs-pin', vault: v };
    if (!v.pin_wrap) return { state: 'forgotten', vault: v };
    if (!v.unlock_secret) return { state: 'expired', vault: v };
    return { state: 'locked', vault: v };
  }

  const isUnlocked = () => !!dataKey;

  /* After a password sign-in: take the server's new secrets. The data key already on the
     phone is recovered if this worker's recovery key came back for its generation;
     otherwise a new one is made ('fresh': the caller empties the store first). The PIN
     must then be set again (its key used the old unlock secret). */
  async function adopt(userId, key) {
    let outcome = 'fresh';
    const result = await update(async (v) => {
      let dk = null;
      let kid = null;
      if (v && v.user_id === userId && v.recovery_wrap && key.previous_recovery_key && key.previous_generation === v.generation) {
        try {
          dk = await unwrapUnder(await secretKey(key.previous_recovery_key), v.recovery_wrap);
          kid = v.kid;
          outcome = 'recovered';
        } catch (_) { dk = null; }
      }
      if (!dk && dataKey && v && v.user_id === userId && keyId === v.kid) {
        dk = dataKey; // still unlocked here (a password sign-in from an open app)
        kid = v.kid;
        outcome = 'recovered';
      }
      if (!dk) {
        dk = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
        kid = hex(random(8));
      }
      dataKey = dk;
      keyId = kid;
      return {
        user_id: userId,
        kid,
        generation: key.generation,
        recovery_wrap: await wrapUnder(await secretKey(key.recovery_key), dk),
        pin_wrap: null,
        salt: null,
        iterations: ITERATIONS,
        unlock_secret: key.unlock_secret,
        lease_until: Date.now() + key.offline_unlock_hours * 3600 * 1000,
        lock_minutes: key.lock_minutes,
        pin_attempts: key.pin_attempts,
        failures: 0,
        unreported: (v && v.user_id === userId && v.unreported) || 0,
      };
    });
    emit('unlocked');
    return { outcome, vault: result };
  }

  /* A PIN the worker may choose: 6 or more characters; all digits not all one digit nor
     a straight run. Returns an error message, or null when acceptable. */
  function pinProblem(pin) {
    if (!pin || pin.length < MIN_PIN) return 'Enter a PIN of at least ' + MIN_PIN + ' digits';
    if (/^\d+$/.test(pin)) {
      if (/^(\d)\1+$/.test(pin)) return 'Choose a PIN that is not one digit repeated';
      const up = '01234567890123456789';
      const down = '98765432109876543210';
      if (up.includes(pin) || down.includes(pin)) return 'Choose a PIN that is not a run of digits like 123456';
    }
    return null;
  }

  async function setPin(pin) {
    const problem = pinProblem(pin);
    if (problem) throw new Error(problem);
    if (!dataKey) throw new Error('locked');
    await update(async (v) => {
      if (!v || v.kid !== keyId || !v.unlock_secret) throw new Error('locked');
      const salt = random(16);
      const kek = await pinKey(pin, salt, v.unlock_secret, ITERATIONS);
      return Object.assign({}, v, { salt, iterations: ITERATIONS, pin_wrap: await wrapUnder(kek, dataKey), failures: 0 });
    });
    emit('unlocked');
  }

  /* Unlock with the PIN. {ok:true} | {ok:false, reason:'wrong', remaining} |
     {ok:false, reason:'forgotten'|'expired'|'none'}. */
  async function unlock(pin) {
    await expireLease();
    let v = await read();
    if (!v || !v.recovery_wrap) return { ok: false, reason: 'none' };
    if (!v.pin_wrap) return { ok: false, reason: 'forgotten' };
    if (!v.unlock_secret) return { ok: false, reason: 'expired' };
    let dk = null;
    try {
      dk = await unwrapUnder(await pinKey(pin, v.salt, v.unlock_secret, v.iterations), v.pin_wrap);
    } catch (_) { dk = null; }
    if (dk) {
      dataKey = dk;
      keyId = v.kid;
      await update((cur) => (cur && cur.failures ? Object.assign({}, cur, { failures: 0 }) : undefined));
      emit('unlocked-pin');
      return { ok: true };
    }
    v = await update((cur) => {
      if (!cur) return undefined;
      const failures = (cur.failures || 0) + 1;
      const next = Object.assign({}, cur, { failures, unreported: (cur.unreported || 0) + 1 });
      if (failures >= (cur.pin_attempts || 5)) Object.assign(next, { pin_wrap: null, salt: null, unlock_secret: null, lease_until: null });
      return next;
    });
    if (!v.pin_wrap) return { ok: false, reason: 'forgotten', failures: v.failures };
    return { ok: false, reason: 'wrong', remaining: (v.pin_attempts || 5) - v.failures };
  }

  /* Check the PIN without unlocking (changing the PIN in Account). */
  async function checkPin(pin) {
    const v = await read();
    if (!v || !v.pin_wrap || !v.unlock_secret) return false;
    try {
      await unwrapUnder(await pinKey(pin, v.salt, v.unlock_secret, v.iterations), v.pin_wrap);
      return true;
    } catch (_) { return false; }
  }

  function lock(reason) {
    if (!dataKey) return;
    dataKey = null;
    keyId = null;
    emit(reason || 'locked');
  }

  /* An unlocked phone online: the server's unlock secret again, the lease starts again. */
  async function renew(lease) {
    await update((v) => {
      if (!v || v.kid !== keyId || v.generation !== lease.generation) return undefined;
      return Object.assign({}, v, {
        unlock_secret: lease.unlock_secret,
        lease_until: Date.now() + lease.offline_unlock_hours * 3600 * 1000,
        lock_minutes: lease.lock_minutes,
        pin_attempts: lease.pin_attempts,
      });
    });
  }

  /* Sign-out with records waiting: only the recovery wrap stays, so nothing but this
     worker's next password sign-in opens them. */
  async function keepForRecovery() {
    await update((v) => (v ? Object.assign({}, v, { pin_wrap: null, salt: null, unlock_secret: null, lease_until: null }) : undefined));
    lock('signed-out');
  }

  /* Forget everything (sign-out with nothing waiting, a revoked device). */
  async function clear() {
    await update(() => null);
    lock('cleared');
  }

  async function takeUnreported() {
    let n = 0;
    await update((v) => {
      if (!v || !v.unreported) return undefined;
      n = v.unreported;
      return Object.assign({}, v, { unreported: 0 });
    });
    return n;
  }

  async function addUnreported(n) {
    await update((v) => (v ? Object.assign({}, v, { unreported: (v.unreported || 0) + n }) : undefined));
  }

  /* ---------- sealing values ---------- */

  function need() {
    if (!dataKey) { const e = new Error('The app is locked.'); e.locked = true; throw e; }
    return dataKey;
  }

  /* A value encrypted under the data key: {iv, ct}. `aad` (e.g. the record's key) binds it
     to its place, so a sealed value moved to another record does not open. */
  async function seal(value, aad) {
    const key = need();
    const iv = random(12);
    const params = aad ? { name: 'AES-GCM', iv, additionalData: enc.encode(aad) } : { name: 'AES-GCM', iv };
    return { iv, ct: await subtle.encrypt(params, key, enc.encode(JSON.stringify(value))) };
  }

  async function open_(sealed, aad) {
    const key = need();
    const params = aad ? { name: 'AES-GCM', iv: sealed.iv, additionalData: enc.encode(aad) } : { name: 'AES-GCM', iv: sealed.iv };
    return JSON.parse(dec.decode(await subtle.decrypt(params, key, sealed.ct)));
  }

  /* Bytes sealed as they are (no JSON): a large value (the saved caseload index) costs
     one encryption and the reader decodes only the parts it needs, when it needs them. */
  async function sealBytes(bytes, aad) {
    const key = need();
    const iv = random(12);
    const params = aad ? { name: 'AES-GCM', iv, additionalData: enc.encode(aad) } : { name: 'AES-GCM', iv };
    return { iv, ct: await subtle.encrypt(params, key, bytes) };
  }

  async function openBytes(sealed, aad) {
    const key = need();
    const params = aad ? { name: 'AES-GCM', iv: sealed.iv, additionalData: enc.encode(aad) } : { name: 'AES-GCM', iv: sealed.iv };
    return new Uint8Array(await subtle.decrypt(params, key, sealed.ct));
  }

  /* The data key for this page's own seal worker (js/core/seal-worker.js: the first
     sync's pages are sealed and written there), and its taking by that worker. The key
     stays non-persisted memory in both: the worker is ended when the page locks. */
  const keyHandle = () => (dataKey ? { key: dataKey, kid: keyId } : null);
  function useKey(handle) {
    dataKey = handle ? handle.key : null;
    keyId = handle ? handle.kid : null;
  }

  O.vault = {
    ITERATIONS, MIN_PIN, status, isUnlocked, adopt, setPin, pinProblem, unlock, checkPin, lock, renew,
    keepForRecovery, clear, takeUnreported, addUnreported, expireLease, seal, open: open_, sealBytes, openBytes, on, read,
    keyId: () => keyId, keyHandle, useKey,
  };
})(self);
