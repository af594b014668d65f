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
   (a second tab, the service worker) show as a `rev` it did not see.

   Encrypted at rest (DESIGN §6, device protection): with the vault (js/core/vault.js)
   loaded, every value is stored sealed under the phone's data key (AES-GCM) except the
   few fields the indexes and the lock itself need (CLEAR below: keys, ids, versions,
   states; never a personal value). A WebCrypto call cannot run inside an IndexedDB
   transaction (the transaction commits while it waits), so `tx` runs `fn` against a view
   of the stores: reads are fetched (one transaction per batch of reads issued together)
   and opened; writes are kept, read back by `fn` as written, sealed when `fn` is done and
   committed in one transaction. Writers take the `outreach-store` lock (every tab and the
   service worker), so what `fn` read is what it writes over. Locked, a sealed value
   cannot be read (the error has `locked: true`) and nothing can be written. */
(function (g) {
  'use strict';
  const NAME = 'outreach';
  const VERSION = 2;
  let opening = null;
  const listeners = new Set();
  let summarise = null; // what listeners get for a written record (set by the page)

  function req(r) {
    if (r && typeof r.then === 'function') return r; // a sealed view's read
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
      /* `stored`: what is written (the sealed form), when it is not `rec` itself. */
      put(rec, stored) {
        rec.cid = clientOf(rec);
        changed.set(rec.key, summarise ? summarise(rec) : true);
        return store.put(stored || rec);
      },
      delete(k) {
        changed.set(k, null);
        return store.delete(k);
      },
    };
  }

  /* Run fn(stores) inside one transaction; resolves with fn's result once committed.
     A transaction that writes records also stores, under its new `rev`, what it changed
     for the caseload index (a *delta*: `opts.delta`, sealed by sealedTx; built here when
     the store is not encrypted), so a saved index is brought up to date from the deltas
     written since it was saved, never from every record. */
  async function rawTx(names, mode, fn, opts) {
    const db = await open();
    const list = [].concat(names);
    const writesRecords = mode === 'readwrite' && list.includes('records');
    if (writesRecords && !list.includes('meta')) list.push('meta');
    if (writesRecords && !list.includes('cache')) list.push('cache');
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
            const delta = opts && opts.delta;
            // Sealed for another rev (a writer outside the lock), or none: the chain of
            // deltas is broken here and the index is read again from the records.
            const value = delta ? (delta.rev === rev ? delta.value : BROKEN) : vault() ? BROKEN : plainDelta(changed);
            stores.cache.put(value, deltaKey(rev));
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

  /* ---------- sealed at rest ---------- */

  // Stored in clear: what the indexes, the outbox's bookkeeping and a locked phone need.
  const CLEAR = {
    records: ['key', 'entity', 'id', 'cid', 'version', 'server_seq'],
    outbox: ['seq', 'key', 'entity', 'id', 'op', 'mutation_id', 'state', 'sent', 'created_at', 'updated_at'],
  };
  const CLEAR_META = new Set(['device_id', 'user_id', 'rev']);
  // `plainStore`: bench/phone_bench.py's baseline (the same app, its store not encrypted).
  const vault = () => (g.Outreach.plainStore ? null : g.Outreach.vault || null);
  const KV = new Set(['meta', 'cache']); // stores of named values (out-of-line keys)
  const aadOf = (name, k, v) => KV.has(name) ? name + ':' + k : name + ':' + v.key + (name === 'outbox' ? ':' + v.mutation_id : '');

  /* The caseload index's deltas (one per records-writing transaction, by rev) and its
     saved snapshot, in `cache`. */
  const DELTA = 'index:d:';
  const SNAPSHOT = 'index:snap';
  const deltaKey = (rev) => DELTA + String(rev).padStart(12, '0');
  const BROKEN = { broken: true };
  let indexer = null; // {summary(rec) -> entry, pack(entry) -> array}: set by js/data.js
  const packed = (e) => (e && typeof e === 'object' ? (indexer ? indexer.pack(e) : 0) : e === null ? null : 0);
  // [[key, packed entry | null (deleted) | 0 (read the record again)], ...]
  const plainDelta = (changed) => [...changed].map(([k, e]) => [k, packed(e)]);

  /* Opened named values (meta, cache), by the iv they were sealed with: the profile or a
     token read again is not decrypted again. Dropped when the app locks. */
  const opened = new Map();
  const sameIv = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

  async function sealValue(name, value, k) {
    const v = vault();
    if (KV.has(name) && value && value.bytes instanceof Uint8Array) {
      // {clear, bytes}: a large value sealed as bytes; `clear` (marks, never personal) stays readable.
      return { clear: value.clear, $bytes: await v.sealBytes(value.bytes, aadOf(name, k)) };
    }
    if (KV.has(name) && name === 'meta' && CLEAR_META.has(k)) return value;
    if (KV.has(name)) {
      const sealed = await v.seal(value, aadOf(name, k));
      // Read back by this iv, it is this value: no decryption (a write that does not commit
      // leaves an iv nothing stored has).
      if (!(typeof k === 'string' && k.startsWith(DELTA))) opened.set(name + ':' + k, { iv: sealed.iv, value: clone(value) });
      return { $sealed: sealed };
    }
    const out = {};
    const rest = {};
    for (const [f, x] of Object.entries(value)) (CLEAR[name].includes(f) ? out : rest)[f] = x;
    if (name === 'records') out.cid = clientOf(value);
    out.$s = await v.seal(rest, aadOf(name, null, value));
    return out;
  }

  async function openValue(name, stored, k) {
    if (stored == null || typeof stored !== 'object') return stored;
    if (KV.has(name) && stored.$bytes) return { clear: stored.clear, bytes: await vault().openBytes(stored.$bytes, aadOf(name, k)) };
    if (KV.has(name) && stored.$sealed) {
      const at = name + ':' + k;
      const seen = opened.get(at);
      if (seen && sameIv(seen.iv, stored.$sealed.iv)) return clone(seen.value);
      const value = await vault().open(stored.$sealed, aadOf(name, k));
      if (!(typeof k === 'string' && k.startsWith(DELTA))) opened.set(at, { iv: stored.$sealed.iv, value: clone(value) });
      return value;
    }
    if (KV.has(name)) return stored;
    if (!stored.$s) return stored; // stored before the lock (sealed at the next sign-in)
    const out = Object.assign({}, await vault().open(stored.$s, aadOf(name, null, stored)));
    for (const f of CLEAR[name]) if (f in stored) out[f] = stored[f];
    return out;
  }

  /* Reads issued together (e.g. Promise.all over keys) share one transaction. */
  let batch = null;
  function fetchRaw(name, method, args, index) {
    return new Promise((resolve, reject) => {
      if (!batch) {
        batch = [];
        Promise.resolve().then(async () => {
          const ops = batch;
          batch = null;
          try {
            const t = (await open()).transaction([...new Set(ops.map((o) => o.name))], 'readonly');
            for (const o of ops) {
              const st = t.objectStore(o.name);
              const r = (o.index ? st.index(o.index) : st)[o.method](...o.args);
              r.onsuccess = () => o.resolve(r.result);
              r.onerror = () => o.reject(r.error);
            }
          } catch (e) { for (const o of ops) o.reject(e); }
        });
      }
      batch.push({ name, method, args, index, resolve, reject });
    });
  }

  const INDEX_FIELD = { entity: 'entity', client: 'cid', key: 'key' };
  const clone = (v) => (v == null ? v : structuredClone(v));

  /* One store as `fn` sees it: reads opened, writes kept (and read back) until commit. */
  function view(name, writes) {
    const over = new Map(); // key -> value, or null when deleted
    const added = []; // outbox entries added (their seq comes at commit)
    const keyOf = (v, k) => (KV.has(name) ? k : name === 'outbox' ? v.seq : v.key);
    const openAll = (rows, keys) => Promise.all(rows.map((r, i) => openValue(name, r, keys ? keys[i] : undefined)));
    const merge = (rows, match) => {
      const out = rows.filter((r) => !over.has(keyOf(r)));
      for (const [k, v] of over) if (v && (!match || match(v))) out.push(clone(v));
      for (const v of added) if (!match || match(v)) out.push(clone(v));
      return out;
    };
    const store = {
      async get(k) {
        if (over.has(k)) return clone(over.get(k)) ?? undefined;
        return openValue(name, await fetchRaw(name, 'get', [k]), k);
      },
      async getAll(query, count) {
        if (KV.has(name)) throw new Error(name + ': read by name');
        const rows = await openAll(await fetchRaw(name, 'getAll', [query, count].filter((a) => a !== undefined)));
        return query === undefined && count === undefined ? merge(rows) : rows;
      },
      async getAllKeys() {
        const keys = await fetchRaw(name, 'getAllKeys', []);
        const out = keys.filter((k) => !over.has(k));
        for (const [k, v] of over) if (v) out.push(k);
        return out;
      },
      async count() { return (await store.getAllKeys()).length + added.length; },
      index(index) {
        const field = INDEX_FIELD[index];
        return {
          async getAll(q) {
            const rows = await openAll(await fetchRaw(name, 'getAll', [q], index));
            return merge(rows, (v) => (index === 'client' ? clientOf(v) : v[field]) === q);
          },
        };
      },
      put(v, k) {
        if (!writes) throw new Error('read-only transaction');
        const copy = clone(v);
        if (name === 'outbox' && copy.seq == null) added.push(copy); else over.set(keyOf(copy, k), copy);
        writes.push({ name, op: 'put', value: copy, k });
        return Promise.resolve(k);
      },
      add(v) { return store.put(v); },
      delete(k) {
        if (!writes) throw new Error('read-only transaction');
        over.set(k, null);
        writes.push({ name, op: 'delete', k });
        return Promise.resolve();
      },
    };
    if (KV.has(name)) {
      store.getAllKeys = async () => {
        const keys = await fetchRaw(name, 'getAllKeys', []);
        const out = keys.filter((k) => !over.has(k));
        for (const [k, v] of over) if (v !== null) out.push(k);
        return out;
      };
      store.getAll = async () => {
        const keys = await store.getAllKeys();
        return Promise.all(keys.map((k) => store.get(k)));
      };
    }
    return store;
  }

  function lockedError() {
    const e = new Error('The app is locked.');
    e.locked = true;
    return e;
  }

  /* The caseload index's delta of these record writes: [[key, packed entry | null]]. */
  function deltaOf(recs) {
    return recs.map((w) => (w.op === 'delete' ? [w.k, null] : [w.value.key, indexer ? packed(indexer.summary(w.value)) : 0]));
  }

  /* Seal `writes` (each once) and the index's delta ({rev, changes}: the rev this commit
     will be), and put them in one transaction (the commit of a sealed `tx`). */
  async function commitSealed(writes, clear, delta) {
    const sealed = await Promise.all([
      ...writes.map((w) => (w.op === 'put' && !clear ? sealValue(w.name, w.value, w.k) : null)),
      delta ? sealValue('cache', delta.changes, deltaKey(delta.rev)) : null,
    ]);
    const sealedDelta = delta ? { rev: delta.rev, value: sealed.pop() } : null;
    await rawTx([...new Set(writes.map((w) => w.name))], 'readwrite', (s) => {
      writes.forEach((w, i) => {
        if (w.op === 'delete') s[w.name].delete(w.k);
        else if (clear) s.meta.put(w.value, w.k);
        else if (w.name === 'records') s.records.put(w.value, sealed[i]);
        else if (KV.has(w.name)) s[w.name].put(sealed[i], w.k);
        else s[w.name].put(sealed[i]);
      });
    }, { delta: sealedDelta });
  }

  async function sealedTx(names, mode, fn) {
    const list = [].concat(names);
    const run = async () => {
      const writes = mode === 'readwrite' ? [] : null;
      const stores = {};
      for (const n of list) stores[n] = view(n, writes);
      const result = await fn(stores, null);
      if (!writes || !writes.length) return result;
      const v = vault();
      const clear = writes.every((w) => w.name === 'meta' && CLEAR_META.has(w.k));
      const recs = writes.filter((w) => w.name === 'records');
      // Writers hold the store's lock: the rev read now is the one this write follows.
      const [held, rev] = await Promise.all([clear ? null : v.read(), recs.length ? fetchRaw('meta', 'get', ['rev']) : null]);
      if (!clear && (!v.isUnlocked() || !held || held.kid !== v.keyId())) {
        // Another tab signed in (a new data key) or this one locked: write nothing.
        if (v.isUnlocked()) v.lock('identity');
        throw lockedError();
      }
      await commitSealed(writes, clear, recs.length ? { rev: (rev || 0) + 1, changes: deltaOf(recs) } : null);
      return result;
    };
    if (mode !== 'readwrite') return run();
    if (g.navigator && navigator.locks) return navigator.locks.request('outreach-store', run);
    return run();
  }

  /* Run fn(stores) as one transaction: sealed at rest once the vault is loaded. */
  function tx(names, mode, fn) {
    return vault() ? sealedTx(names, mode, fn) : rawTx(names, mode, fn);
  }

  /* Seal what was stored in clear before the lock came (the phone's first unlock after
     the update): every record, outbox entry and meta value, rewritten sealed. */
  async function sealPlain() {
    let n = 0;
    await sealedTx(['records', 'outbox', 'meta', 'cache'], 'readwrite', async (s) => {
      for (const name of ['records', 'outbox']) {
        for (const v of await s[name].getAll()) { s[name].put(v); n++; }
      }
      for (const name of KV) {
        for (const k of await s[name].getAllKeys()) { s[name].put(await s[name].get(k), k); n++; }
      }
    });
    return n;
  }

  /* Run fn while no tab or worker writes the store (fn must not write through `tx`). */
  function exclusive(fn) {
    if (g.navigator && navigator.locks) return navigator.locks.request('outreach-store', fn);
    return fn();
  }

  /* A locked tab forgets what it read: listeners (the caseload index) start again. */
  function forget() {
    batch = null;
    opened.clear();
    notify({ reset: true });
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
      const values = await Promise.all(keys.map((k) => req(s.meta.get(k))));
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
  /* ---------- the caseload index's storage (js/data.js) ---------- */

  /* The index's saved snapshot as stored (sealed): readable before the PIN is entered,
     opened after (`openSnapshot`). */
  function snapshotRaw() {
    return fetchRaw('cache', 'get', [SNAPSHOT]);
  }
  async function openSnapshot(raw) {
    if (!raw) return null;
    return vault() && raw.$bytes ? openValue('cache', raw, SNAPSHOT) : raw;
  }

  /* The store's rev and the deltas written after `mark` (opened), read together with the
     saved snapshot unless `raw` (its stored form, read earlier) is given:
     {rev, snapshot: {clear, bytes} | null, deltas: [[rev, changes], ...] | null when
     the chain from the mark is broken}. Only what changed since the mark is decrypted. */
  async function indexSince(mark, raw) {
    const range = IDBKeyRange.bound(DELTA, DELTA + '\uffff');
    const [rev, snapRaw, keys, values] = await Promise.all([
      fetchRaw('meta', 'get', ['rev']),
      raw === undefined ? snapshotRaw() : raw,
      fetchRaw('cache', 'getAllKeys', [range]),
      fetchRaw('cache', 'getAll', [range]),
    ]);
    const snapshot = mark == null ? await openSnapshot(snapRaw) : null;
    // Without a snapshot: every delta from the store's first write, if all are there.
    const from = mark == null ? (snapshot && snapshot.clear ? snapshot.clear.rev : 0) : mark;
    const current = rev || 0;
    const wanted = [];
    for (let i = 0; i < keys.length; i++) {
      const r = Number(keys[i].slice(DELTA.length));
      if (r > from && r <= current) wanted.push([r, keys[i], values[i]]);
    }
    wanted.sort((a, b) => a[0] - b[0]);
    const whole = wanted.length === current - from && wanted.every(([r, , v], i) => r === from + 1 + i && v && !v.broken);
    if (!whole) return { rev: current, snapshot, deltas: null };
    const opened_ = await Promise.all(wanted.map(([, k, v]) => (vault() ? openValue('cache', v, k) : v)));
    return { rev: current, snapshot, deltas: wanted.map(([r], i) => [r, opened_[i]]) };
  }

  /* Save the index's snapshot at `rev` and drop the deltas it holds (and the saved index
     of the format before), in one transaction. */
  async function saveSnapshot(value, rev) {
    return tx('cache', 'readwrite', (s) => {
      s.cache.put(value, SNAPSHOT);
      s.cache.delete(IDBKeyRange.bound(DELTA, deltaKey(rev)));
      s.cache.delete('caseload');
      s.cache.delete(IDBKeyRange.bound('caseload:', 'caseload:\uffff'));
    });
  }

  /* What the index's deltas need of a record (set by js/data.js). */
  function indexWith(summary, pack) {
    indexer = { summary, pack };
    summarise = summary;
  }

  /* The outbox's bookkeeping (kept in clear): counted without opening any entry. */
  async function outboxStates() {
    const rows = await (vault() ? fetchRaw('outbox', 'getAll', []) : tx('outbox', 'readonly', (s) => req(s.outbox.getAll())));
    return rows.map((e) => { const out = {}; for (const f of CLEAR.outbox) out[f] = e[f]; return out; });
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
    opened.clear();
    await new Promise((resolve) => {
      const r = indexedDB.deleteDatabase(NAME);
      r.onsuccess = r.onerror = r.onblocked = () => resolve();
    });
    notify({ reset: true });
  }

  g.Outreach = g.Outreach || {};
  g.Outreach.db = {
    open, tx, req, key, getMeta, setMeta, allMeta, records, record, byClient, byKeys,
    recordsChunk, cached, setCached, outbox, outboxCount, outboxStates, wipe, onRecords,
    sealPlain, forget, exclusive, CLEAR, CLEAR_META,
    snapshotRaw, indexSince, saveSnapshot, indexWith, deltaKey,
  };
})(self);
