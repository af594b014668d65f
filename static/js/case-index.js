/* The caseload index: in memory, kept in step with every write (each write stores its
   delta), saved as one sealed snapshot when idle. The caseload, search and the client
   picker read it; screens import it through js/data.js. */
import { today } from './ui.js';
import {
  ENTRY_CHUNK, INDEX_FORMAT, ORDER, Row, pack, packFollow, packRow, readEntries, restore,
  split, summarise, unpack, yieldToPage,
} from './index-format.js';

const db = () => self.Outreach.db;
const CHUNK = 2000; // records per read when the index is rebuilt from the store
const DERIVE_STEP = 5000; // index entries per task when the caseload is worked out in steps
const COMPACT_AFTER = 400; // changed entries since the snapshot before it is saved again
// A client another team shared with this one (a referral) is in this team's caseload once
// the team has taken the referral on (DESIGN §5b); until then it is only in Referrals.
const TAKEN_ON = ['accepted', 'first_contact', 'treatment_entry'];

const idle = (fn, timeout) => (self.requestIdleCallback ? requestIdleCallback(fn, { timeout }) : setTimeout(fn, 50));

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
