/* Local store in IndexedDB: `records` (clients, interventions, follow-ups), `outbox`
   (mutations waiting to be pushed) and `meta` (device id, tokens, cursor, profile).
   A plain script on purpose: the page imports it as a module and the service worker
   loads it with importScripts() for Background Sync. */
(function (g) {
  'use strict';
  const NAME = 'outreach';
  const VERSION = 1;
  let opening = null;

  function req(r) {
    return new Promise((resolve, reject) => {
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }

  function open() {
    if (opening) return opening;
    opening = new Promise((resolve, reject) => {
      const r = indexedDB.open(NAME, VERSION);
      r.onupgradeneeded = () => {
        const db = r.result;
        db.createObjectStore('records', { keyPath: 'key' }).createIndex('entity', 'entity');
        db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true }).createIndex('key', 'key');
        db.createObjectStore('meta');
      };
      r.onsuccess = () => {
        const db = r.result;
        db.onversionchange = () => { db.close(); opening = null; };
        resolve(db);
      };
      r.onerror = () => { opening = null; reject(r.error); };
    });
    return opening;
  }

  /* Run fn(stores) inside one transaction; resolves with fn's result once committed. */
  async function tx(names, mode, fn) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const t = db.transaction(names, mode);
      const stores = {};
      for (const n of [].concat(names)) stores[n] = t.objectStore(n);
      let result;
      let failed = null;
      Promise.resolve()
        .then(() => fn(stores, t))
        .then((v) => { result = v; }, (e) => { failed = e; try { t.abort(); } catch (_) { /* done */ } });
      t.oncomplete = () => (failed ? reject(failed) : resolve(result));
      t.onabort = () => reject(failed || t.error || new Error('IndexedDB transaction aborted'));
    });
  }

  const key = (entity, id) => entity + ':' + id;

  async function getMeta(name) {
    return tx('meta', 'readonly', (s) => req(s.meta.get(name)));
  }
  async function setMeta(values) {
    return tx('meta', 'readwrite', (s) => {
      for (const [k, v] of Object.entries(values)) {
        if (v === undefined) s.meta.delete(k); else s.meta.put(v, k);
      }
    });
  }
  async function allMeta() {
    return tx('meta', 'readonly', async (s) => {
      const keys = await req(s.meta.getAllKeys());
      const values = await req(s.meta.getAll());
      const out = {};
      keys.forEach((k, i) => { out[k] = values[i]; });
      return out;
    });
  }
  async function records(entity) {
    return tx('records', 'readonly', (s) => req(s.records.index('entity').getAll(entity)));
  }
  async function record(entity, id) {
    return tx('records', 'readonly', (s) => req(s.records.get(key(entity, id))));
  }
  async function outbox() {
    return tx('outbox', 'readonly', (s) => req(s.outbox.getAll()));
  }
  async function outboxCount() {
    return tx('outbox', 'readonly', (s) => req(s.outbox.count()));
  }

  /* Delete everything on this phone (revoked device): the next sign-in starts afresh. */
  async function wipe() {
    if (opening) {
      try { (await opening).close(); } catch (_) { /* already closed */ }
      opening = null;
    }
    await new Promise((resolve) => {
      const r = indexedDB.deleteDatabase(NAME);
      r.onsuccess = r.onerror = r.onblocked = () => resolve();
    });
  }

  g.Outreach = g.Outreach || {};
  g.Outreach.db = { open, tx, req, key, getMeta, setMeta, allMeta, records, record, outbox, outboxCount, wipe };
})(self);
