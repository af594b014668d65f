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
      putOwned(rec) { return this.put(rec); },
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
      const t = opts && opts.durability ? db.transaction(list, mode, { durability: opts.durability }) : db.transaction(list, mode);
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
    for (const f in value) (CLEAR[name].includes(f) ? out : rest)[f] = value[f];
    if (name === 'records') out.cid = clientOf(value);
    // A synced record's server copy is its data (one object): sealed once, not twice.
    if (rest.server_data !== undefined && rest.server_data === rest.data) { delete rest.server_data; rest.$sd = 1; }
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
    const out = await vault().open(stored.$s, aadOf(name, null, stored));
    if (out.$sd) { delete out.$sd; out.server_data = out.data; }
    for (const f of CLEAR[name]) if (f in stored) out[f] = stored[f];
    return out;
  }

  /* Let the page draw and take input between stretches of a long write (the first
     sync's pages): a new task, without setTimeout's clamping. */
  const now = () => (g.performance ? g.performance.now() : Date.now());
  let yielding = null;
  function yieldTask() {
    if (g.scheduler && typeof g.scheduler.yield === 'function') return g.scheduler.yield();
    if (typeof MessageChannel !== 'function') return new Promise((resolve) => setTimeout(resolve, 0));
    if (!yielding) {
      yielding = { channel: new MessageChannel(), waiting: [] };
      yielding.channel.port1.onmessage = () => { const w = yielding.waiting.shift(); if (w) w(); };
    }
    return new Promise((resolve) => { yielding.waiting.push(resolve); yielding.channel.port2.postMessage(0); });
  }
  // The longest stretch of sealing or writing in one task, on the page (a worker needs none).
  const SLICE_MS = g.document ? 25 : Infinity;

  /* Every put of `writes` sealed (deletes: null), a stretch of at most SLICE_MS per task;
     the encryptions run on WebCrypto's thread meanwhile. */
  async function sealAll(writes) {
    const out = new Array(writes.length).fill(null);
    const pending = [];
    let since = now();
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i];
      if (w.op === 'put') pending.push(sealValue(w.name, w.value, w.k).then((x) => { out[i] = x; }));
      if (now() - since > SLICE_MS) { await yieldTask(); since = now(); }
    }
    await Promise.all(pending);
    return out;
  }

  /* Reads issued together (e.g. Promise.all over keys) share one transaction. A read
     waits for a pulled page still being written by the seal worker (so what it reads and
     what listeners were told agree), except the pull's own (`eager`). */
  const batches = { wait: null, eager: null };
  function fetchRaw(name, method, args, index, eager) {
    const slot = eager ? 'eager' : 'wait';
    return new Promise((resolve, reject) => {
      if (!batches[slot]) {
        batches[slot] = [];
        Promise.resolve().then(async () => {
          const ops = batches[slot];
          batches[slot] = null;
          try {
            if (!eager) await settled();
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
      batches[slot].push({ name, method, args, index, resolve, reject });
    });
  }

  const INDEX_FIELD = { entity: 'entity', client: 'cid', key: 'key' };
  const clone = (v) => (v == null ? v : structuredClone(v));

  /* One store as `fn` sees it: reads opened, writes kept (and read back) until commit. */
  function view(name, writes, eager) {
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
        return openValue(name, await fetchRaw(name, 'get', [k], undefined, eager), k);
      },
      async getAll(query, count) {
        if (KV.has(name)) throw new Error(name + ': read by name');
        const rows = await openAll(await fetchRaw(name, 'getAll', [query, count].filter((a) => a !== undefined), undefined, eager));
        return query === undefined && count === undefined ? merge(rows) : rows;
      },
      async getAllKeys() {
        const keys = await fetchRaw(name, 'getAllKeys', [], undefined, eager);
        const out = keys.filter((k) => !over.has(k));
        for (const [k, v] of over) if (v) out.push(k);
        return out;
      },
      async count() { return (await store.getAllKeys()).length + added.length; },
      index(index) {
        const field = INDEX_FIELD[index];
        return {
          async getAll(q) {
            const rows = await openAll(await fetchRaw(name, 'getAll', [q], index, eager));
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
      /* A put of a value the caller hands over (a pulled record made for it): not
         copied; it is written as it is when `fn` ends. */
      putOwned(v) {
        if (!writes) throw new Error('read-only transaction');
        over.set(keyOf(v), v);
        writes.push({ name, op: 'put', value: v });
        return Promise.resolve();
      },
      delete(k) {
        if (!writes) throw new Error('read-only transaction');
        over.set(k, null);
        writes.push({ name, op: 'delete', k });
        return Promise.resolve();
      },
    };
    if (KV.has(name)) {
      store.getAllKeys = async () => {
        const keys = await fetchRaw(name, 'getAllKeys', [], undefined, eager);
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
     will be), and put them in one transaction (the commit of a sealed `tx`). `relaxed`: a
     pulled page (lost with its cursor if the phone dies right then: pulled again),
     committed without waiting for the disk. */
  async function commitSealed(writes, clear, delta, relaxed) {
    const t0 = now();
    const sealed = clear ? [] : await sealAll(writes);
    const sealedDelta = delta ? { rev: delta.rev, value: await sealValue('cache', delta.changes, deltaKey(delta.rev)) } : null;
    commitSealed.sealMs = now() - t0;
    await rawTx([...new Set(writes.map((w) => w.name))], 'readwrite', async (s) => {
      let since = now();
      for (let i = 0; i < writes.length; i++) {
        const w = writes[i];
        let r;
        if (w.op === 'delete') r = s[w.name].delete(w.k);
        else if (clear) r = s.meta.put(w.value, w.k);
        else if (w.name === 'records') r = s.records.put(w.value, sealed[i]);
        else if (KV.has(w.name)) r = s[w.name].put(sealed[i], w.k);
        else r = s[w.name].put(sealed[i]);
        // A long write goes in stretches: waiting on a request ends the task and keeps
        // the transaction open.
        if (now() - since > SLICE_MS && i < writes.length - 1) { await req(r); since = now(); }
      }
    }, { delta: sealedDelta, durability: relaxed ? 'relaxed' : undefined });
  }

  /* ---------- large writes off the page's main thread ----------
     A batch of OFFLOAD_AT writes or more (a pulled page) is sealed and written by a
     dedicated worker (js/core/seal-worker.js) holding the same data key: the page keeps
     drawing and taking input meanwhile. The page still decides every write (under the
     store lock) and tells its listeners once the worker's transaction has committed. */
  const OFFLOAD_AT = 200;
  let worker = null;
  let watching = false;
  let broken = false;
  // Batches the worker wrote, its own time on them and the page's wait for them (ms):
  // bench/phone_bench.py reports them (the worker is not CPU-throttled there).
  const offloaded = { batches: 0, workerMs: 0, sealMs: 0, waitMs: 0 };

  function sealWorker() {
    const O = g.Outreach;
    const v = vault();
    if (broken || O.sealInPage || typeof Worker !== 'function' || !g.document || !v || !v.keyHandle) return null;
    const handle = v.keyHandle();
    if (!handle) return null;
    if (worker && worker.kid !== handle.kid) endWorker();
    if (worker) return worker;
    let w;
    try { w = new Worker('/js/core/seal-worker.js'); } catch (_) { return null; }
    const me = { w, kid: handle.kid, calls: new Map(), next: 1 };
    w.onmessage = (e) => {
      const call = me.calls.get(e.data.id);
      if (!call) return;
      me.calls.delete(e.data.id);
      if (e.data.ok) call.resolve(e.data); else call.reject(Object.assign(new Error(e.data.error), { locked: !!e.data.locked }));
    };
    // A worker that cannot run (its script not loaded): this page seals in place from now.
    w.onerror = (e) => { e.preventDefault(); broken = true; if (worker === me) endWorker(); else failCalls(me); };
    w.postMessage({ type: 'key', handle });
    if (!watching) {
      watching = true;
      // Locked (or another sign-in): the worker goes, and its copy of the key with it.
      v.on((type) => { if (type !== 'unlocked' && type !== 'unlocked-pin') endWorker(); });
    }
    worker = me;
    return me;
  }

  /* The worker stopped (the app locked, the store wiped): nothing it had not answered is
     known to be written; the sync that sent it fails and the next one resumes. */
  function failCalls(me, why = 'The seal worker stopped.') {
    for (const call of me.calls.values()) call.reject(new Error(why));
    me.calls.clear();
  }

  function endWorker() {
    if (!worker) return;
    const me = worker;
    worker = null;
    me.w.terminate();
    failCalls(me);
  }

  /* A worker that goes silent (killed without an error event, or hung) would hold the
     store lock for good and every save behind it: past its time (SEAL_TIMEOUT_MS, and
     more for a large batch: a page of 1,000 records takes about 1 s on a slow phone) it
     is ended, what it had not answered fails (a pull resumes from its last committed
     cursor; a commit the worker made but never reported shows as a rev the index catches
     up on) and this page seals in place from then on. A hidden page's timers (and its
     worker) may be held back: the time runs again when it is shown. */
  const SEAL_TIMEOUT_MS = 30000;
  const SEAL_MS_PER_WRITE = 3;
  function callWorker(me, message) {
    return new Promise((resolve, reject) => {
      const id = me.next++;
      const limit = (g.Outreach.sealTimeoutMs || SEAL_TIMEOUT_MS) + SEAL_MS_PER_WRITE * ((message.writes || []).length);
      let timer;
      const arm = () => { timer = setTimeout(expire, limit); };
      const expire = () => {
        if (!me.calls.has(id)) return;
        if (g.document && g.document.hidden) { g.document.addEventListener('visibilitychange', arm, { once: true }); return; }
        broken = true;
        if (worker === me) worker = null;
        me.w.terminate();
        failCalls(me, 'The seal worker stopped answering.');
      };
      const settle = (f) => (x) => { clearTimeout(timer); f(x); };
      me.calls.set(id, { resolve: settle(resolve), reject: settle(reject) });
      me.w.postMessage(Object.assign({ id }, message));
      arm();
    });
  }

  /* What a committed write tells listeners: each record written (its summary) or
     deleted (null), as `tracked` notes them in the page's own transactions. */
  function changesOf(writes) {
    const changes = new Map();
    for (const w of writes) {
      if (w.name !== 'records') continue;
      if (w.op === 'delete') { changes.set(w.k, null); continue; }
      w.value.cid = clientOf(w.value);
      changes.set(w.value.key, summarise ? summarise(w.value) : true);
    }
    return changes;
  }

  /* Commit `writes` in the worker; false if there is none to use. Outbox entries being
     added never go there (their keys are made by the store: a worker lost after its
     commit must not be followed by a second add). */
  const offloadable = (writes) => !writes.some((w) => w.name === 'outbox');
  async function offload(writes, delta) {
    if (writes.length < OFFLOAD_AT || !offloadable(writes)) return false;
    const me = sealWorker();
    if (!me) return false;
    let answer;
    try {
      answer = await sendToWorker(me, writes, delta);
    } catch (e) {
      throw e.locked ? lockedError() : e;
    }
    if (answer.rev != null) notify({ rev: answer.rev, changes: changesOf(writes) });
    return true;
  }

  async function sendToWorker(me, writes, delta, relaxed) {
    const started = now();
    const answer = await callWorker(me, { type: 'write', writes, delta, relaxed });
    offloaded.batches++;
    offloaded.workerMs += answer.ms || 0;
    offloaded.sealMs += answer.sealMs || 0;
    offloaded.waitMs += now() - started;
    return answer;
  }

  /* ---------- a pull's pages in a pipeline ----------
     While the worker seals and writes page n, the pull works out page n+1 (`tx` with
     {pipeline: true}). Order and exactly-once hold: the worker commits in order, page n+1
     is sent only once page n has committed (a failed page fails the next and the pull
     stops: it resumes from the last cursor committed); every other transaction, and every
     read but the pull's own, waits until the page in flight has committed and its
     listeners were told. */
  let inflight = null; // {done: Promise} (never rejects)
  let failed = null; // the error of a page the worker did not commit, until the pull sees it

  async function settled() {
    while (inflight) await inflight.done;
  }

  /* Every page sent is committed, or this throws the error of the one that was not
     (once: a pull calls it before its first page and after its last). */
  async function flush() {
    await settled();
    const error = failed;
    failed = null;
    if (error) throw error;
  }

  async function pipelined(writes, recs) {
    await flush(); // page n committed before page n+1 goes
    // The rev this page will be, now that the one before it is in (the index's delta).
    const rev = recs.length ? await fetchRaw('meta', 'get', ['rev']) : null;
    const delta = recs.length ? { rev: (rev || 0) + 1, changes: deltaOf(recs) } : null;
    // A small page (a small team's whole caseload) is written here: no worker to start.
    const me = writes.length >= OFFLOAD_AT && offloadable(writes) ? sealWorker() : null;
    if (!me) { await commitSealed(writes, false, delta, true); return; }
    const job = {};
    job.done = sendToWorker(me, writes, delta, true).then(
      (answer) => { if (answer.rev != null) notify({ rev: answer.rev, changes: changesOf(writes) }); },
      (e) => { failed = failed || (e.locked ? lockedError() : e); },
    ).finally(() => { if (inflight === job) inflight = null; });
    inflight = job;
  }

  async function sealedTx(names, mode, fn, opts) {
    const list = [].concat(names);
    const pipeline = !!(opts && opts.pipeline);
    const run = async () => {
      const writes = mode === 'readwrite' ? [] : null;
      // A write reads and writes over what is committed (a pipelined pull excepted: its
      // pages come in order).
      if (writes && !pipeline) await settled();
      const stores = {};
      for (const n of list) stores[n] = view(n, writes, pipeline);
      // Writers hold the store's lock: the vault's record and the rev read now are those
      // this write follows (read while fn reads, not after it; a pipelined page reads its
      // rev once the page before it is in).
      const ahead = writes ? Promise.all([vault().read(), pipeline ? null : fetchRaw('meta', 'get', ['rev'])]) : null;
      if (ahead) ahead.catch(() => { /* seen below */ });
      const result = await fn(stores, null);
      if (!writes || !writes.length) return result;
      const v = vault();
      const clear = writes.every((w) => w.name === 'meta' && CLEAR_META.has(w.k));
      const recs = writes.filter((w) => w.name === 'records');
      const [held, rev] = await ahead;
      if (!clear && (!v.isUnlocked() || !held || held.kid !== v.keyId())) {
        // Another tab signed in (a new data key) or this one locked: write nothing.
        if (v.isUnlocked()) v.lock('identity');
        throw lockedError();
      }
      if (pipeline && !clear) { await pipelined(writes, recs); return result; }
      const delta = recs.length ? { rev: (rev || 0) + 1, changes: deltaOf(recs) } : null;
      if (clear || !(await offload(writes, delta))) await commitSealed(writes, clear, delta);
      return result;
    };
    if (mode !== 'readwrite') return run();
    if (g.navigator && navigator.locks) return navigator.locks.request('outreach-store', run);
    return run();
  }

  /* Run fn(stores) as one transaction: sealed at rest once the vault is loaded.
     {pipeline: true}: a pull's page (see "pipeline" above; `flush` after the last). */
  function tx(names, mode, fn, opts) {
    return vault() ? sealedTx(names, mode, fn, opts) : rawTx(names, mode, fn);
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
    const run = async () => { await settled(); return fn(); };
    if (g.navigator && navigator.locks) return navigator.locks.request('outreach-store', run);
    return run();
  }

  /* A locked tab forgets what it read: listeners (the caseload index) start again. */
  function forget() {
    endWorker();
    batches.wait = batches.eager = null;
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
    endWorker();
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
    sealPlain, forget, exclusive, commitSealed, offloaded, flush, settled, yieldTask, CLEAR, CLEAR_META,
    snapshotRaw, indexSince, saveSnapshot, indexWith, deltaKey,
  };
})(self);
