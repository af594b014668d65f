/* Local store in IndexedDB: `records` (clients, interventions, follow-ups), `outbox`
   (mutations waiting to be pushed), `meta` (device id, tokens, cursor, profile) and
   `cache` (what can be made again from the records).
   A plain script on purpose: the page imports it as a module and the service worker
   loads it with importScripts() for Background Sync.

   Every read and write of the phone's data goes through this module (the one place to
   wrap, e.g. to encrypt). Records are read by key, by entity, or by client (the
   `client` index: a client and every record naming it); never all at once per screen.
   Each transaction that writes records also bumps `meta.rev` and, once committed, tells
   this context's listeners (`onRecords`) which records changed, so an in-memory index
   (js/data.js) keeps in step without reading the store again; another context's writes
   (a second tab, the service worker) show as a `rev` it did not see. */
(function (g) {
  'use strict';
  const NAME = 'outreach';
  const VERSION = 2;
  let opening = null;
  const listeners = new Set();
  let summarise = null; // what listeners get for a written record (set by the page)

  function req(r) {
    return new Promise((resolve, reject) => {
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }

  /* The client a record belongs to: the `client` index's key. */
  function clientOf(rec) {
    if (rec.entity === 'client') return rec.id;
    const c = rec.data && rec.data.client_id;
    return typeof c === 'string' && c ? c : undefined;
  }

  function open() {
    if (opening) return opening;
    opening = new Promise((resolve, reject) => {
      const r = indexedDB.open(NAME, VERSION);
      r.onupgradeneeded = (ev) => {
        const db = r.result;
        let records;
        if (ev.oldVersion < 1) {
          records = db.createObjectStore('records', { keyPath: 'key' });
          records.createIndex('entity', 'entity');
          db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true }).createIndex('key', 'key');
          db.createObjectStore('meta');
        } else {
          records = r.transaction.objectStore('records');
        }
        if (ev.oldVersion < 2) {
          db.createObjectStore('cache'); // derived data, e.g. the saved caseload index
          records.createIndex('client', 'cid');
          if (ev.oldVersion >= 1) {
            // Records stored before the index: give each its client.
            records.openCursor().onsuccess = (e) => {
              const cur = e.target.result;
              if (!cur) return;
              const rec = cur.value;
              const cid = clientOf(rec);
              if (rec.cid !== cid) { rec.cid = cid; cur.update(rec); }
              cur.continue();
            };
          }
        }
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

  /* The records store as fn sees it in a read-write transaction: every put and delete
     is noted (and a put gets its `cid`). */
  function tracked(store, changed) {
    return {
      get: (k) => store.get(k),
      getAll: (...a) => store.getAll(...a),
      getAllKeys: (...a) => store.getAllKeys(...a),
      count: (...a) => store.count(...a),
      index: (n) => store.index(n),
      openCursor: (...a) => store.openCursor(...a),
      put(rec) {
        rec.cid = clientOf(rec);
        changed.set(rec.key, summarise ? summarise(rec) : true);
        return store.put(rec);
      },
      delete(k) {
        changed.set(k, null);
        return store.delete(k);
      },
    };
  }

  /* Run fn(stores) inside one transaction; resolves with fn's result once committed. */
  async function tx(names, mode, fn) {
    const db = await open();
    const list = [].concat(names);
    const writesRecords = mode === 'readwrite' && list.includes('records');
    if (writesRecords && !list.includes('meta')) list.push('meta');
    return new Promise((resolve, reject) => {
      const t = db.transaction(list, mode);
      const stores = {};
      for (const n of list) stores[n] = t.objectStore(n);
      const changed = writesRecords ? new Map() : null;
      if (writesRecords) stores.records = tracked(stores.records, changed);
      let result;
      let failed = null;
      let rev = null;
      Promise.resolve()
        .then(() => fn(stores, t))
        .then(async (v) => {
          result = v;
          if (changed && changed.size) {
            rev = ((await req(stores.meta.get('rev'))) || 0) + 1;
            stores.meta.put(rev, 'rev');
          }
        })
        .catch((e) => { failed = e; try { t.abort(); } catch (_) { /* done */ } });
      t.oncomplete = () => {
        if (failed) return reject(failed);
        if (rev != null) notify({ rev, changes: changed });
        resolve(result);
      };
      t.onabort = () => reject(failed || t.error || new Error('IndexedDB transaction aborted'));
    });
  }

  function notify(event) {
    for (const fn of listeners) { try { fn(event); } catch (e) { console.error(e); } }
  }
  /* fn({rev, changes: Map(key -> summary or null when deleted)}) after each committed
     write of records in this context; fn({reset: true}) when the store is wiped. */
  function onRecords(fn, summary) {
    if (summary) summarise = summary;
    listeners.add(fn);
    return () => listeners.delete(fn);
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
  /* A client's record and every record naming it (interventions, follow-ups). */
  async function byClient(id) {
    return tx('records', 'readonly', (s) => req(s.records.index('client').getAll(id)));
  }
  /* Records by key, in the order asked (undefined for a key not stored). */
  async function byKeys(keys) {
    return tx('records', 'readonly', (s) => Promise.all(keys.map((k) => req(s.records.get(k)))));
  }
  /* Up to `count` records in key order after `after` (exclusive; null: from the start),
     with the store's `rev` read in the same transaction: for reading every record a
     chunk at a time. */
  async function recordsChunk(after, count) {
    return tx(['records', 'meta'], 'readonly', async (s) => {
      const range = after == null ? null : IDBKeyRange.lowerBound(after, true);
      const [rows, rev] = await Promise.all([req(s.records.getAll(range, count)), req(s.meta.get('rev'))]);
      return { rows, rev: rev || 0 };
    });
  }
  /* Derived values saved in `cache`, with the store's `rev`, read together: a value is
     current only if it was saved at that rev. */
  async function cached(names) {
    return tx(['meta', 'cache'], 'readonly', async (s) => {
      const [rev, ...values] = await Promise.all([req(s.meta.get('rev')), ...names.map((n) => req(s.cache.get(n)))]);
      return { rev: rev || 0, values };
    });
  }
  /* Save several derived values at once ({name: value}). */
  async function setCached(values) {
    return tx('cache', 'readwrite', (s) => { for (const [k, v] of Object.entries(values)) s.cache.put(v, k); });
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
    notify({ reset: true });
  }

  g.Outreach = g.Outreach || {};
  g.Outreach.db = {
    open, tx, req, key, getMeta, setMeta, allMeta, records, record, byClient, byKeys,
    recordsChunk, cached, setCached, outbox, outboxCount, wipe, onRecords,
  };
})(self);
