/* Read models over the local store: the caseload index (in memory, kept in step with
   every write), a client's records, follow-ups. Screens never load every record: the
   caseload, search and the client picker read the index; a client's page reads that
   client's records through the store's `client` index. */
import { today } from './ui.js';

const db = () => self.Outreach.db;
const CHUNK = 2000; // records per read when the index is rebuilt from the store
const DERIVE_STEP = 5000; // index entries per task when the caseload is worked out in steps
const INDEX_FORMAT = 3; // a saved index of another format is rebuilt
// A client another team shared with this one (a referral) is in this team's caseload once
// the team has taken the referral on (DESIGN §5b); until then it is only in Referrals.
const TAKEN_ON = ['accepted', 'first_contact', 'treatment_entry'];

export const live = (r) => !!r && !r.deleted && !r.removed && !(r.data && r.data.deleted_at);

/* ---------- the caseload index ---------- */

/* What the index keeps of a record. One shape for every entry (one hidden class, so the
   loops over 25,000 of them stay fast); each kind fills its own fields. */
class Entry {
  constructor(e, id, on) {
    this.e = e; // c(lient), i(ntervention), f(ollow-up), r(eferral)
    this.key = ENTITY[e] + ':' + id;
    this.id = id;
    this.on = on; // live (not deleted or removed)
    this.c = ''; // client id (interventions, follow-ups)
    this.t = 0; // intervention: occurred_at in ms
    this.f = ''; // intervention: follow_up_on
    this.fd = 0; // intervention: follow_up_done
    this.d = ''; // follow-up: due_on
    this.done = 0; // follow-up: done
    this.iv = ''; // follow-up: its intervention
    this.a = null; // follow-up: assigned to
    this.i = ''; // client: initials, known as, date of birth, postcode district
    this.k = '';
    this.dob = '';
    this.pc = '';
    this.st = ''; // client: sync status (pending, rejected)
    this.cf = 0; // client: changed on the server
    this.tm = null; // client: its team (another team's: shared through a referral)
    this.to = null; // referral: the team it was sent to
    this.s = ''; // referral: its status
  }
}
const ENTITY = { c: 'client', i: 'intervention', f: 'follow_up', r: 'referral' };
const KIND = { client: 'c', intervention: 'i', follow_up: 'f', referral: 'r' };
// Saved as JSON arrays of each kind's own fields (small, quick to read back).
const FIELDS = { c: ['i', 'k', 'dob', 'pc', 'st', 'cf', 'tm'], i: ['c', 't', 'f', 'fd'], f: ['c', 'd', 'done', 'iv', 'a'], r: ['c', 'to', 's'] };

/* Run for every record written, so: small. */
function summarise(rec) {
  const kind = KIND[rec.entity];
  if (!kind) return null;
  const d = rec.data || {};
  const x = new Entry(kind, rec.id, live(rec) ? 1 : 0);
  if (kind === 'c') {
    x.i = d.initials || '';
    x.k = d.known_as || '';
    x.dob = d.date_of_birth || '';
    x.pc = d.postcode_district || '';
    x.st = rec.status || '';
    x.cf = rec.conflict && rec.conflict.length ? 1 : 0;
    x.tm = d.team_id ?? null;
  } else if (kind === 'i') {
    const t = d.occurred_at ? Date.parse(d.occurred_at) : NaN;
    x.c = d.client_id || '';
    x.t = isNaN(t) ? 0 : t;
    x.f = d.follow_up_on || '';
    x.fd = d.follow_up_done ? 1 : 0;
  } else if (kind === 'r') {
    x.c = d.client_id || '';
    x.to = d.to_team_id ?? null;
    x.s = d.status || '';
  } else {
    x.c = d.client_id || '';
    x.d = d.due_on || '';
    x.done = d.done_at ? 1 : 0;
    x.iv = d.intervention_id || '';
    x.a = d.assigned_to ?? d.assigned_to_id ?? null;
  }
  return x;
}

function pack(x) {
  const out = [x.e, x.id, x.on];
  for (const f of FIELDS[x.e]) out.push(x[f]);
  return out;
}
function unpack(a) {
  const x = new Entry(a[0], a[1], a[2]);
  const fields = FIELDS[a[0]];
  for (let n = 0; n < fields.length; n++) x[fields[n]] = a[n + 3];
  return x;
}

/* A caseload row: a client, their last contact and their soonest open follow-up. */
const RANK = { overdue: 0, due: 1 };
class Row {
  constructor(id, initials, knownAs, dob, postcode, status, conflict, lastContact, followUp, day) {
    this.id = id;
    this.initials = initials;
    this.known_as = knownAs;
    this.date_of_birth = dob;
    this.postcode_district = postcode;
    this.status = status;
    this.conflict = conflict;
    this.lastContact = lastContact;
    this.followUp = followUp;
    this.followUpState = followUpState(followUp, day);
    this.rank = RANK[this.followUpState] ?? 2;
    this.find = initials.toLowerCase() + '\n' + knownAs.toLowerCase();
  }
}
const packRow = (r) => [r.id, r.initials, r.known_as, r.date_of_birth, r.postcode_district, r.status, r.conflict, r.lastContact, r.followUp];
const packFollow = (f) => [f.key, f.id, f.kind, f.client_id, f.due_on, f.assigned];

const ORDER = (a, b) => a.rank - b.rank || b.lastContact - a.lastContact || (a.initials < b.initials ? -1 : a.initials > b.initials ? 1 : 0);

// A task boundary (input and frames go first) that a hidden tab does not throttle as it
// does timers: a sync in the background still saves its index promptly.
const yieldToPage = () => db().yieldTask();
const idle = (fn, timeout) => (self.requestIdleCallback ? requestIdleCallback(fn, { timeout }) : setTimeout(fn, 50));

/* The saved index (db.js `saveSnapshot`) is one value sealed as bytes, one decryption:
   UTF-8 lines, each a JSON value: a head ({v, rev, day, team}), the caseload's rows as
   they were derived, its open follow-ups, then the entries in chunks. The rows are
   decoded first (the caseload is drawn from them), the entries a chunk per task after.
   What changed after it was saved is in the deltas (one per write, by rev): only those
   are decrypted to bring it up to date. */
const ENTRY_CHUNK = 2500;
const COMPACT_AFTER = 400; // changed entries since the snapshot before it is saved again
const decoder = new TextDecoder();

function split(bytes) {
  const ends = [];
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) ends.push(at);
  ends.push(bytes.length);
  const line = (n) => decoder.decode(bytes.subarray(n ? ends[n - 1] + 1 : 0, ends[n]));
  return { head: JSON.parse(line(0)), count: ends.length, line };
}

/* The caseload as saved; on another day the follow-up states change, so the order too. */
function restore(parts) {
  const rows = [];
  for (const a of JSON.parse(parts.line(1))) rows.push(new Row(...a));
  if (parts.head.day !== today()) rows.sort(ORDER);
  const follow = JSON.parse(parts.line(2)).map(([key, id, kind, client_id, due_on, assigned]) => ({ key, id, kind, client_id, due_on, assigned }));
  return { day: today(), rows, follow, byId: new Map(rows.map((r) => [r.id, r])) };
}

/* The saved entries, a chunk per task. */
async function readEntries(parts) {
  const all = new Map();
  for (let n = 3; n < parts.count; n++) {
    for (const a of JSON.parse(parts.line(n))) { const e = unpack(a); all.set(e.key, e); }
    if (n + 1 < parts.count) await yieldToPage();
  }
  return all;
}

/* A snapshot read before the PIN was entered (the lock screen reads it, still sealed,
   while the worker types), used by the first load after the unlock. */
let prefetched;
export function prefetchIndex() {
  prefetched = db().snapshotRaw().catch(() => undefined);
}
function takePrefetched() {
  const p = prefetched;
  prefetched = undefined;
  return p;
}

class CaseIndex {
  constructor() {
    this.all = new Map(); // key -> Entry
    this.rev = -1; // the store's rev this index stands for
    this.mark = -1; // the rev of the saved snapshot (-1: none)
    this.since = 0; // entries changed since the snapshot
    this.team = null; // the phone's team (from the profile), for shared clients
    this.derived = null; // the caseload worked out (derive), until an entry changes
    this.version = 0; // counts the changes that void `derived`
    this.subscribers = new Set();
    this.queue = null; // notifications that arrive while loading
    this.loading = null;
    this.filling = null; // entries being read back behind a saved caseload
    this.compacting = null;
    this.compactAsked = false;
    this.syncing = false;
    this.dropped = false;
  }

  /* Up to date with the store. A write by another tab shows as a rev this context did
     not see: its deltas bring the index up to date. */
  async ready() {
    if (this.filling) await this.filling;
    if (this.loading) return this.loading;
    const rev = (await db().getMeta('rev')) || 0;
    if (rev === this.rev) return this;
    if (this.loading) return this.loading;
    this.loading = (this.rev >= 0 ? this.catchUp() : this.load()).finally(() => { this.loading = null; });
    return this.loading;
  }

  /* The saved snapshot and the deltas after it. A current snapshot answers with its rows
     at once (its entries are read back a chunk per task behind it); a stale one is read
     whole, then the deltas since its mark are applied. Without a snapshot (or with a
     broken chain of deltas), every record is read once, and the snapshot saved. */
  async load() {
    this.queue = [];
    const raw = await takePrefetched();
    const [profile, first] = await Promise.all([db().getMeta('profile'), db().indexSince(null, raw)]);
    // A snapshot read while locked that another tab has since replaced: read it again.
    const state = !first.deltas && raw ? await db().indexSince(null) : first;
    this.team = profile && profile.team ? profile.team.id : null;
    const { rev, snapshot, deltas } = state;
    let parts = null;
    try {
      if (snapshot && snapshot.clear && snapshot.clear.v === INDEX_FORMAT && deltas) parts = split(snapshot.bytes);
    } catch (_) { parts = null; }
    let done = false;
    if (parts && !deltas.length && parts.head.team === this.team) {
      try {
        this.changed(); // a stepped derive of the entries before must not be kept
        this.derived = restore(parts);
        this.mark = snapshot.clear.rev;
        this.since = 0;
        this.rev = rev;
        this.filling = this.fill(parts).finally(() => { this.filling = null; });
        this.emit();
        return this;
      } catch (_) { this.changed(); }
    }
    // A stale snapshot and the deltas since; or no snapshot yet and every delta from the
    // first write (a first sync whose snapshot was not saved before the app closed).
    if (deltas && (parts || !snapshot)) {
      try {
        this.all = parts ? await readEntries(parts) : new Map();
        this.mark = parts ? snapshot.clear.rev : -1;
        this.since = 0;
        await this.applyDeltas(deltas);
        this.rev = rev;
        done = true;
      } catch (_) { done = false; }
    }
    if (!done) {
      ({ all: this.all, at: this.rev } = await this.rebuild());
      this.mark = -1;
    }
    this.changed();
    this.settle();
    return this;
  }

  async fill(parts) {
    await yieldToPage();
    try {
      this.all = await readEntries(parts);
      this.version++; // the same caseload as restored, from other entry objects
    } catch (_) {
      ({ all: this.all, at: this.rev } = await this.rebuild());
      this.mark = -1;
      this.changed();
    }
    this.settle();
  }

  /* Another context wrote: apply its deltas (only those are decrypted). */
  async catchUp() {
    this.queue = [];
    const { rev, deltas } = await db().indexSince(this.rev);
    if (!deltas) return this.load();
    await this.applyDeltas(deltas);
    this.rev = rev;
    this.changed();
    this.settle();
    return this;
  }

  /* Deltas: [rev, [[key, packed entry | null (deleted) | 0 (read the record again)]]]. */
  async applyDeltas(deltas) {
    const again = new Set();
    for (const [, changes] of deltas) {
      for (const [k, p] of changes) {
        if (p === 0) { again.add(k); continue; }
        again.delete(k);
        if (p) this.all.set(k, unpack(p)); else this.all.delete(k);
      }
      this.since += changes.length;
    }
    if (!again.size) return;
    const keys = [...again];
    const recs = await db().byKeys(keys);
    keys.forEach((k, i) => {
      const e = recs[i] ? summarise(recs[i]) : null;
      if (e) this.all.set(k, e); else this.all.delete(k);
    });
  }

  /* After a load: the changes that arrived meanwhile. */
  settle() {
    const queued = this.queue || [];
    this.queue = null;
    for (const n of queued.sort((a, b) => a.rev - b.rev)) this.apply(n, true);
    this.emit();
    this.compactSoon();
  }

  /* Every record, a chunk at a time (each chunk its own short task). */
  async rebuild() {
    for (let attempt = 0; ; attempt++) {
      const all = new Map();
      let after = null;
      let first = null;
      let last = null;
      for (;;) {
        const { rows, rev } = await db().recordsChunk(after, CHUNK);
        if (first == null) first = rev;
        last = rev;
        for (const rec of rows) {
          const e = summarise(rec);
          if (e) all.set(e.key, e);
        }
        if (rows.length < CHUNK) break;
        after = rows[rows.length - 1].key;
        await yieldToPage();
      }
      if (first === last || attempt >= 2) return { all, at: last };
    }
  }

  /* A committed write in this context (its delta is already stored with it). */
  apply(n, fromQueue) {
    if (n.reset) {
      this.all = new Map();
      this.rev = 0;
      this.mark = -1;
      this.changed();
      this.emit();
      return;
    }
    if (this.queue && !fromQueue) { this.queue.push(n); return; }
    if (n.rev <= this.rev) return;
    if (n.rev !== this.rev + 1) { if (!fromQueue) this.emit(); return; } // missed one: ready() catches up
    for (const [k, e] of n.changes) {
      if (e && typeof e === 'object') this.all.set(k, e); else this.all.delete(k);
    }
    this.rev = n.rev;
    this.since += n.changes.size;
    this.changed();
    if (!fromQueue) { this.emit(); this.compactSoon(); }
  }

  /* The snapshot is saved again when idle once enough has changed since (or there is
     none), and at the end of a sync; never while pages land, never on every save. */
  compactSoon() {
    if (this.compactAsked || this.syncing || this.dropped) return;
    if (this.mark >= 0 && this.since < COMPACT_AFTER) return;
    this.compactAsked = true;
    idle(() => { this.compactAsked = false; this.compact(); }, 1000);
  }

  compact() {
    if (!this.compacting) this.compacting = this.writeSnapshot().finally(() => { this.compacting = null; });
    return this.compacting;
  }

  async writeSnapshot() {
    if (this.rev < 0 || this.queue || this.filling || this.dropped || this.rev === this.mark) return;
    const rev = this.rev;
    const since = this.since;
    const version = this.version;
    const { day, rows, follow } = await this.deriveInSteps();
    if (this.version !== version || this.queue || this.filling || this.dropped) return this.compactSoon();
    const lines = [JSON.stringify({ v: INDEX_FORMAT, rev, day, team: this.team }), JSON.stringify(rows.map(packRow)), JSON.stringify(follow.map(packFollow))];
    let chunk = [];
    const all = [...this.all.values()];
    for (let n = 0; n < all.length; n++) {
      chunk.push(pack(all[n]));
      if (chunk.length === ENTRY_CHUNK || n === all.length - 1) {
        lines.push(JSON.stringify(chunk));
        chunk = [];
        await yieldToPage();
        if (this.rev !== rev || this.dropped) return this.compactSoon();
      }
    }
    const bytes = new TextEncoder().encode(lines.join('\n'));
    const saved = await db().saveSnapshot({ clear: { v: INDEX_FORMAT, rev, day }, bytes }, rev).then(() => true, () => false);
    if (saved && this.mark < rev) {
      this.mark = rev;
      this.since -= since;
    }
  }

  /* Forget everything held (the app locked). */
  drop() {
    this.dropped = true;
    this.all = new Map();
    this.changed();
    this.rev = -1;
    this.subscribers.clear();
  }

  subscribe(fn) { this.subscribers.add(fn); return () => this.subscribers.delete(fn); }
  emit() { for (const fn of this.subscribers) { try { fn(); } catch (e) { console.error(e); } } }

  changed() { this.derived = null; this.version++; }

  /* Per client: last contact and the soonest open follow-up; the caseload rows. */
  derive() {
    const day = today();
    if (this.derived && this.derived.day === day) return this.derived;
    const run = this.deriving(this.all.values(), day);
    let step = run.next();
    while (!step.done) step = run.next();
    this.derived = step.value;
    return this.derived;
  }

  /* The same, a step per task, over the entries as they are when it starts: while a big
     team's first sync lands, drawing the list never blocks the page for long. Kept only
     if nothing changed meanwhile (the next redraw works it out again). */
  async deriveInSteps() {
    const day = today();
    if (this.derived && this.derived.day === day) return this.derived;
    const version = this.version;
    let started = performance.now();
    const run = this.deriving([...this.all.values()], day);
    let step = run.next();
    let ms = performance.now() - started;
    while (!step.done) {
      await yieldToPage();
      started = performance.now();
      step = run.next();
      ms += performance.now() - started;
    }
    step.value.ms = ms; // its own time, without the tasks between its steps
    if (this.version === version) this.derived = step.value;
    return step.value;
  }

  *deriving(entries, day) {
    const clients = [];
    const last = new Map();
    const linked = new Set();
    const follow = [];
    const dueBy = [];
    const takenOn = new Set(); // clients another team shared, whose referral this team took on
    let n = 0;
    for (const s of entries) {
      if (++n % DERIVE_STEP === 0) yield;
      if (!s.on) continue;
      if (s.e === 'c') clients.push(s);
      else if (s.e === 'r') {
        if (s.to === this.team && TAKEN_ON.includes(s.s)) takenOn.add(s.c);
      } else if (s.e === 'i') {
        if (s.c && (last.get(s.c) || 0) < s.t) last.set(s.c, s.t);
        if (s.f && s.c && !s.fd) dueBy.push(s);
      } else if (s.e === 'f') {
        if (s.iv) linked.add(s.iv);
        if (!s.done) follow.push({ key: s.key, id: s.id, kind: 'follow_up', client_id: s.c, due_on: s.d, assigned: s.a });
      }
    }
    for (const s of dueBy) {
      if (!linked.has(s.id)) follow.push({ key: s.key, id: s.id, kind: 'intervention', client_id: s.c, due_on: s.f, assigned: null });
    }
    yield;
    follow.sort((a, b) => (a.due_on < b.due_on ? -1 : a.due_on > b.due_on ? 1 : 0));
    const next = new Map();
    for (const f of follow) if (f.client_id && !next.has(f.client_id)) next.set(f.client_id, f.due_on);
    const mine = (c) => c.tm == null || this.team == null || c.tm === this.team || takenOn.has(c.id);
    const rows = [];
    for (const c of clients) {
      if (mine(c)) rows.push(new Row(c.id, c.i, c.k, c.dob, c.pc, c.st, c.cf, last.get(c.id) || 0, next.get(c.id) || null, day));
    }
    yield;
    rows.sort(ORDER);
    return { day, rows, follow, byId: new Map(rows.map((r) => [r.id, r])) };
  }

  /* The caseload (as worked out: `derived`, else now), in order; with `query`, the rows
     whose initials or known-as name hold it. */
  rows(query, derived) {
    const rows = (derived || this.derive()).rows;
    const q = (query || '').trim().toLowerCase();
    return q ? rows.filter((r) => r.find.includes(q)) : rows;
  }
  total(derived) { return (derived || this.derive()).rows.length; }
  /* Open follow-ups, soonest first (keys of their records, to read them). */
  openFollowUps() { return this.derive().follow; }
  /* A client of the caseload (a row: id, initials, known_as, date_of_birth, ...). */
  client(id) { return this.derive().byId.get(id) || null; }
  /* Keys of live client records (any team's) with these initials and date of birth: the
     candidates of a duplicate check, read then by key. */
  clientKeysLike(initials, dob) {
    const out = [];
    for (const s of this.all.values()) if (s.e === 'c' && s.on && s.i === initials && s.dob === dob) out.push(s.key);
    return out;
  }
}

let index = null;
let wired = false;
db().indexWith(summarise, pack); // every write's delta, from this page on

/* The page's one caseload index, loaded (or brought up to date) before it answers.
   Locking the app drops it (it holds clients' initials): unlocked, it loads again. */
export function caseIndex() {
  if (!index) index = new CaseIndex();
  if (!wired) {
    wired = true;
    db().onRecords((n) => { if (index) index.apply(n); }, summarise);
    self.Outreach.api.on((type, _detail, remote) => {
      if (!index) return;
      // Another tab or the service worker wrote: their rev shows it; look again.
      if (remote && (type === 'changed' || type === 'sync-end')) index.ready().catch(() => {});
      if (type === 'sync-start' && !remote) index.syncing = true;
      if (type === 'sync-end' && !remote) { index.syncing = false; index.compactSoon(); }
    });
    // A sync already under way (this page opened during one): save when it ends.
    if (navigator.locks && navigator.locks.query) {
      navigator.locks.query().then((s) => { if (index && s.held.some((l) => l.name === 'outreach-sync')) index.syncing = true; }, () => {});
    }
  }
  return index.ready();
}

/* Locked: the index (clients' initials) is dropped; unlocked with the PIN, it is loaded
   at once, beside the screen being drawn. */
if (self.Outreach.vault) {
  self.Outreach.vault.on((type) => {
    // Unlocked by a password sign-in or a new PIN: the data key may be new, so a snapshot
    // the lock screen read ahead may not open with it; read it again.
    if (type === 'unlocked') { prefetched = undefined; return; }
    if (type === 'unlocked-pin') { caseIndex().catch(() => {}); return; }
    prefetched = undefined;
    if (!index) return;
    const old = index;
    index = null;
    old.drop();
  });
}

/* ---------- one client ---------- */

/* A client's record and their live interventions and follow-ups (one indexed read). */
export async function clientRecords(id) {
  const recs = (await db().byClient(id)).filter(live);
  return {
    client: recs.find((r) => r.entity === 'client' && r.id === id) || null,
    interventions: recs.filter((r) => r.entity === 'intervention'),
    followUps: recs.filter((r) => r.entity === 'follow_up'),
  };
}

export function followUpState(due, t = today()) {
  if (!due) return null;
  if (due < t) return 'overdue';
  if (due === t) return 'due';
  return 'upcoming';
}

/* Open follow-ups: follow-up records not done, plus interventions whose follow-up date
   has no follow-up record yet (made offline, before the server created one). */
export function openFollowUps(all) {
  const linked = new Set(all.followUps.map((f) => f.data.intervention_id).filter(Boolean));
  const out = all.followUps.filter((f) => !f.data.done_at).map((f) => ({
    key: f.key, id: f.id, kind: 'follow_up', rec: f, client_id: f.data.client_id, due_on: f.data.due_on, reason: f.data.reason || 'Follow up',
  }));
  for (const i of all.interventions) {
    if (!i.data.follow_up_on || !i.data.client_id || linked.has(i.id) || i.data.follow_up_done) continue;
    out.push({ key: i.key, id: i.id, kind: 'intervention', rec: i, client_id: i.data.client_id, due_on: i.data.follow_up_on, reason: 'Follow up' });
  }
  out.sort((a, b) => (a.due_on < b.due_on ? -1 : a.due_on > b.due_on ? 1 : 0));
  return out;
}

export function typeLabel(codes, code) {
  const t = (codes.intervention_types || []).find((x) => x.code === code);
  return t ? t.label : code;
}
export function label(list, code) {
  const t = (list || []).find((x) => x.code === code);
  return t ? t.label : code;
}

/* A record the signed-in worker may still edit: their own, from the last 7 days. */
export function editable(rec, profile) {
  if (!rec) return false;
  if (rec.created_local) return true;
  const mine = rec.data.worker_id == null || rec.data.worker_id === profile.id;
  const recent = !rec.data.occurred_at || Date.now() - new Date(rec.data.occurred_at).getTime() < 7 * 86400000;
  return mine && recent;
}
