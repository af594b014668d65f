/* Local writes (record + outbox in one transaction) and the sync engine: push the
   outbox, then pull changes page by page. Plain script, shared by the page and the
   service worker (Background Sync). DESIGN §4 and §6. */
(function (g) {
  'use strict';
  const O = g.Outreach;
  const { db, api } = O;
  const ENTITIES = ['client', 'intervention', 'follow_up'];
  const SCHEMA_VERSION = 1;
  const PUSH_BATCH = 200;
  const PUSH_BYTES = 900 * 1024;
  const PULL_LIMIT = 200;
  // What the phone sends for each entity (DESIGN §8); pulled copies may hold more.
  const FIELDS = {
    client: ['initials', 'date_of_birth', 'sex', 'postcode_district', 'known_as', 'key_worker_id'],
    intervention: ['client_id', 'type', 'occurred_at', 'location', 'substances', 'quantity', 'outcome',
      'referral_to', 'follow_up_on', 'notes'],
    follow_up: ['client_id', 'due_on', 'reason', 'assigned_to', 'done_at', 'intervention_id'],
  };

  function wire(entity, id, data) {
    const out = { id };
    for (const f of FIELDS[entity] || []) if (data && data[f] !== undefined) out[f] = data[f];
    return out;
  }

  const byKey = (store, k) => db.req(store.index('key').getAll(k));

  /* Save a local change: the record and its mutation commit together or not at all. */
  async function mutate(entity, op, id, data) {
    const key = db.key(entity, id);
    const now = Date.now();
    await db.tx(['records', 'outbox'], 'readwrite', async (s) => {
      const rec = (await db.req(s.records.get(key))) ||
        { key, entity, id, version: null, server_seq: null, created_local: true };
      const entries = await byKey(s.outbox, key);
      const last = entries[entries.length - 1];
      for (const e of entries) if (e.state === 'rejected') s.outbox.delete(e.seq);
      const unsentCreate = rec.version == null && entries.every((e) => !e.sent || e.state === 'rejected');
      if (op === 'delete' && unsentCreate) {
        // Never reached the server: nothing to tell it.
        for (const e of entries) s.outbox.delete(e.seq);
        s.records.delete(key);
        return;
      }
      if (last && last.state === 'queued' && !last.sent) {
        last.op = op;
        last.data = data;
        last.updated_at = now;
        s.outbox.put(last);
      } else {
        s.outbox.add({ mutation_id: api.uuid(), key, entity, op, id, data, sent: false, state: 'queued', created_at: now });
      }
      Object.assign(rec, { data, deleted: op === 'delete', status: 'pending', errors: null, message: null, local_at: now });
      s.records.put(rec);
    });
    api.emit('changed', { entity, id });
    if (g.navigator && navigator.onLine === false) requestBackgroundSync();
  }

  /* Drop a rejected change the worker chose to discard (they confirmed it). */
  async function discard(entity, id) {
    const key = db.key(entity, id);
    await db.tx(['records', 'outbox'], 'readwrite', async (s) => {
      const rec = await db.req(s.records.get(key));
      const entries = await byKey(s.outbox, key);
      for (const e of entries) s.outbox.delete(e.seq);
      if (!rec) return;
      // Never stored on the server, or left out of this phone's scope by a fresh pull.
      if (rec.version == null || rec.sweep) { s.records.delete(key); return; }
      if (rec.server_data) rec.data = rec.server_data;
      if (rec.server_version != null) rec.version = rec.server_version;
      Object.assign(rec, { status: 'synced', errors: null, message: null, deleted: false });
      s.records.put(rec);
    });
    api.emit('changed', { entity, id });
  }

  async function dismissConflict(entity, id) {
    await db.tx('records', 'readwrite', async (s) => {
      const rec = await db.req(s.records.get(db.key(entity, id)));
      if (rec) { rec.conflict = null; s.records.put(rec); }
    });
    api.emit('changed', { entity, id });
  }

  function requestBackgroundSync() {
    if (!g.navigator || !navigator.serviceWorker || g.registration) return;
    navigator.serviceWorker.ready
      .then((reg) => reg.sync && reg.sync.register('outreach-sync'))
      .catch(() => { /* not supported (iOS) or not allowed: the timer covers it */ });
  }

  const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

  /* Equal in meaning: the server stores times in UTC and lists in code order. */
  function same(a, b) {
    a = a === '' ? null : a ?? null;
    b = b === '' ? null : b ?? null;
    if (typeof a === 'string' && typeof b === 'string' && ISO_TIME.test(a) && ISO_TIME.test(b)) {
      return Date.parse(a) === Date.parse(b);
    }
    if (Array.isArray(a) && Array.isArray(b)) return JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
    return JSON.stringify(a) === JSON.stringify(b);
  }

  function diff(mine, merged) {
    const out = [];
    const fields = new Set([...Object.keys(mine || {}), ...Object.keys(merged || {})]);
    for (const f of fields) {
      if (['id', 'version', 'server_seq'].includes(f)) continue;
      if (!(f in (mine || {}))) continue;
      if (!same(mine[f], merged[f])) out.push({ field: f, yours: mine[f] ?? null, kept: merged[f] ?? null });
    }
    return out;
  }

  async function pickBatch() {
    return db.tx(['records', 'outbox'], 'readwrite', async (s) => {
      const entries = await db.req(s.outbox.getAll());
      const seen = new Set();
      const batch = [];
      let bytes = 0;
      for (const e of entries) {
        if (seen.has(e.key)) continue;
        seen.add(e.key);
        if (e.state !== 'queued') continue;
        const rec = await db.req(s.records.get(e.key));
        const m = {
          mutation_id: e.mutation_id, entity: e.entity, op: e.op, id: e.id,
          base_version: rec && rec.version != null ? rec.version : null,
          data: e.op === 'delete' ? {} : wire(e.entity, e.id, e.data),
        };
        const size = JSON.stringify(m).length;
        if (batch.length && (batch.length >= PUSH_BATCH || bytes + size > PUSH_BYTES)) break;
        bytes += size;
        batch.push(m);
        if (!e.sent) { e.sent = true; s.outbox.put(e); }
      }
      return batch;
    });
  }

  async function applyResults(results) {
    await db.tx(['records', 'outbox'], 'readwrite', async (s) => {
      const all = await db.req(s.outbox.getAll());
      const byMutation = new Map(all.map((e) => [e.mutation_id, e]));
      for (const res of results) {
        // A replay answers "duplicate" with the first outcome in original_status.
        const r = res.status === 'duplicate' && res.original_status && res.original_status !== 'applied'
          ? Object.assign({}, res, { status: res.original_status }) : res;
        const e = byMutation.get(r.mutation_id);
        if (!e) continue;
        const rec = await db.req(s.records.get(e.key));
        if (r.status === 'rejected') {
          e.state = 'rejected';
          e.errors = r.errors || {};
          e.message = r.message || null;
          s.outbox.put(e);
          if (rec) { Object.assign(rec, { status: 'rejected', errors: e.errors, message: e.message }); s.records.put(rec); }
          continue;
        }
        s.outbox.delete(e.seq);
        byMutation.delete(r.mutation_id);
        const stillPending = [...byMutation.values()].some((x) => x.key === e.key);
        if (!rec) continue;
        delete rec.sweep; // the server took it: it is in this phone's scope
        if (r.version != null) rec.version = r.version;
        if (r.server_seq != null) rec.server_seq = r.server_seq;
        if (r.status === 'conflict' && r.record) {
          const merged = r.record.data || r.record;
          if (r.record.version != null && r.version == null) rec.version = r.record.version;
          const changes = diff(wire(e.entity, e.id, e.data), merged);
          rec.conflict = changes.length ? changes : null;
          if (!stillPending) rec.data = Object.assign({}, merged);
        }
        if (e.op === 'delete' && !stillPending) { s.records.delete(e.key); continue; }
        if (!stillPending) { rec.status = 'synced'; rec.server_data = rec.data; }
        s.records.put(rec);
      }
    });
  }

  async function push(deviceId) {
    let rounds = 0;
    for (;;) {
      const batch = await pickBatch();
      if (!batch.length || rounds++ > 50) return rounds > 0;
      const body = await api.call('POST', '/api/v1/sync/push', { device_id: deviceId, schema_version: SCHEMA_VERSION, mutations: batch });
      await applyResults(body.results || []);
      api.emit('changed', {});
    }
  }

  function newer(incoming, stored) {
    if (!stored || stored.version == null) return true;
    const iv = incoming.version ?? 0;
    const sv = stored.version ?? 0;
    if (iv !== sv) return iv > sv;
    return (incoming.server_seq ?? 0) > (stored.server_seq ?? 0);
  }

  async function applyPage(page) {
    await db.tx(['records', 'outbox', 'meta'], 'readwrite', async (s) => {
      const pending = new Set((await db.req(s.outbox.getAll())).map((e) => e.key));
      for (const c of page.changes || []) {
        if (!ENTITIES.includes(c.entity)) {
          if (c.data) s.meta.put(c.data, 'ref:' + c.entity);
          continue;
        }
        const key = db.key(c.entity, c.id);
        const stored = await db.req(s.records.get(key));
        if (stored && stored.sweep) { delete stored.sweep; s.records.put(stored); }
        if (c.op === 'remove') {
          if (!stored) continue;
          if (pending.has(key)) { stored.removed = true; s.records.put(stored); } else s.records.delete(key);
          continue;
        }
        if (stored && !newer(c, stored)) continue;
        if (stored && pending.has(key)) {
          // The worker's unsent edit stays on screen and keeps the version it was based
          // on (its base_version), so the server merges it; the server's copy waits beside it.
          Object.assign(stored, { server_version: c.version, server_data: c.data });
          s.records.put(stored);
          continue;
        }
        s.records.put({
          key, entity: c.entity, id: c.id, data: c.data || {}, server_data: c.data || {},
          version: c.version, server_seq: c.server_seq, status: 'synced',
          conflict: stored ? stored.conflict || null : null,
        });
      }
      if (page.reference) s.meta.put(page.reference, 'reference');
      s.meta.put(page.cursor, 'cursor');
      if (!page.has_more && await db.req(s.meta.get('sweeping'))) {
        // The fresh pull is complete: what it did not bring is no longer ours to hold.
        // Records with work waiting keep their mark: sent and accepted, the mark goes;
        // discarded, the record goes (see discard).
        for (const rec of await db.req(s.records.getAll())) {
          if (rec.sweep && !pending.has(rec.key)) s.records.delete(rec.key);
        }
        s.meta.delete('sweeping');
      }
    });
  }

  /* Before a pull without a cursor (the server refused ours: the worker moved team)
     mark every record; the pages clear the marks of what is still in scope, and the last
     page drops the marked records with nothing waiting to be sent. Unsent work is never
     dropped here. (A database restored from backup does not come this way: the server
     restarts the pull itself and the phone keeps what it has.) */
  async function markForSweep() {
    await db.tx(['records', 'meta'], 'readwrite', async (s) => {
      const all = await db.req(s.records.getAll());
      if (!all.length) return;
      for (const rec of all) {
        if (!rec.sweep) { rec.sweep = true; s.records.put(rec); }
      }
      s.meta.put(true, 'sweeping');
    });
  }

  async function pull() {
    let changed = false;
    for (let i = 0; i < 1000; i++) {
      const cursor = await db.getMeta('cursor');
      if (cursor == null || cursor === '') await markForSweep();
      const q = new URLSearchParams({ limit: String(PULL_LIMIT) });
      if (cursor != null && cursor !== '') q.set('cursor', cursor);
      let page;
      try {
        page = await api.call('GET', '/api/v1/sync/pull?' + q.toString());
      } catch (e) {
        // A cursor the server no longer knows (e.g. a restored database): start again.
        if (e.status === 422 && e.body && e.body.errors && e.body.errors.cursor && cursor != null) {
          await db.setMeta({ cursor: undefined });
          continue;
        }
        throw e;
      }
      await applyPage(page);
      if ((page.changes || []).length) { changed = true; api.emit('changed', {}); }
      if (!page.has_more) return changed;
    }
    return changed;
  }

  async function refreshProfile() {
    const me = await api.call('GET', '/api/v1/me');
    await db.setMeta({ profile: me });
  }

  /* One sync at a time across tabs and the service worker. Returns a short outcome. */
  async function run(reason) {
    const deviceId = await db.getMeta('device_id');
    const token = await db.getMeta('refresh_token');
    if (!deviceId || !token) return 'signed-out';
    if (g.navigator && navigator.onLine === false) return 'offline';
    return api.withLock('outreach-sync', { ifAvailable: true }, async (lock) => {
      if (!lock) return 'busy';
      api.emit('sync-start', { reason });
      try {
        const pushed = await push(deviceId);
        const pulled = await pull();
        if (reason === 'start' || reason === 'login' || !(await db.getMeta('profile'))) await refreshProfile();
        await db.setMeta({ last_sync: Date.now(), last_error: undefined });
        api.emit('sync-end', { ok: true, changed: pushed || pulled });
        return 'ok';
      } catch (e) {
        const outcome = e instanceof api.NetworkError ? 'offline' : e instanceof api.SignedOut ? 'signed-out' : 'error';
        if (outcome === 'error') {
          console.error(e);
          const msg = e.status === 426 ? 'This app is out of date: reload it to update.' : (e.message || 'Sync failed.');
          try { await db.setMeta({ last_error: msg }); } catch (_) { /* wiped */ }
        }
        api.emit('sync-end', { ok: false, outcome });
        return outcome;
      }
    });
  }

  O.sync = { FIELDS, requestBackgroundSync, run, mutate, discard, dismissConflict, pull, push, diff };
})(self);
