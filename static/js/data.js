/* Read models over the local store: the caseload index (in memory, kept in step with
   every write), a client's records, follow-ups. Screens never load every record: the
   caseload, search and the client picker read the index; a client's page reads that
   client's records through the store's `client` index. */
import { today } from './ui.js';

const db = () => self.Outreach.db;
const CHUNK = 2000; // records per read when the index is rebuilt from the store
const SAVE_AFTER_MS = 1000; // the index is saved this long after the last change
const INDEX_FORMAT = 2; // a saved index of another format is rebuilt
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
  constructor(id, initials, knownAs, dob, postcode, status, conflict, lastContact, followUp) {
    this.id = id;
    this.initials = initials;
    this.known_as = knownAs;
    this.date_of_birth = dob;
    this.postcode_district = postcode;
    this.status = status;
    this.conflict = conflict;
    this.lastContact = lastContact;
    this.followUp = followUp;
    this.followUpState = followUpState(followUp);
    this.rank = RANK[this.followUpState] ?? 2;
    this.find = initials.toLowerCase() + '\n' + knownAs.toLowerCase();
  }
}
const packRow = (r) => [r.id, r.initials, r.known_as, r.date_of_birth, r.postcode_district, r.status, r.conflict, r.lastContact, r.followUp];
const packFollow = (f) => [f.key, f.id, f.kind, f.client_id, f.due_on, f.assigned];

/* The caseload as saved (same day: the follow-up states still hold). */
function restore(head, parts) {
  const rows = [];
  for (const part of parts) for (const a of JSON.parse(part)) rows.push(new Row(...a));
  const follow = JSON.parse(head.follow).map(([key, id, kind, client_id, due_on, assigned]) => ({ key, id, kind, client_id, due_on, assigned }));
  return { day: head.day, rows, follow, byId: new Map(rows.map((r) => [r.id, r])) };
}

const yieldToPage = () => new Promise((resolve) => setTimeout(resolve, 0));

/* The index is kept (and saved) in 64 buckets by the last two hex digits of the record's
   id: a change rewrites one bucket, and the saved index is read back a bucket per task.
   The caseload rows are saved in 8 parts. Each saved value stays under 64 KB for a team
   of 5,000 (larger ones Chromium keeps as files, slower to read back). */
const BUCKETS = 64;
const ROW_PARTS = 8;
const bucketOf = (key) => parseInt(key.slice(-2), 16) & (BUCKETS - 1);
const names = (prefix, n) => Array.from({ length: n }, (_, i) => 'caseload:' + prefix + i);
const ROW_NAMES = names('r', ROW_PARTS);
const BUCKET_NAMES = names('b', BUCKETS);
const strings = (values) => values.every((v) => typeof v === 'string');

class CaseIndex {
  constructor() {
    this.parts = Array.from({ length: BUCKETS }, () => new Map());
    this.dirty = new Set();
    this.rev = -1;
    this.team = null; // the phone's team (from the profile), for shared clients
    this.derived = null;
    this.subscribers = new Set();
    this.queue = null; // notifications that arrive while loading
    this.loading = null;
    this.saveTimer = null;
    this.syncing = false;
    this.filling = null; // entries being read back behind a saved caseload
  }

  /* Up to date with the store (a write by another tab or the service worker shows as a
     rev this context did not see: load again). */
  async ready() {
    if (this.filling) await this.filling;
    if (this.loading) return this.loading;
    const rev = (await db().getMeta('rev')) || 0;
    if (rev === this.rev) return this;
    if (this.loading) return this.loading;
    this.loading = this.load().finally(() => { this.loading = null; });
    return this.loading;
  }

  /* The saved caseload (rows and follow-ups as they were saved) answers at once; the
     entries behind it are read back a bucket per task, then changes made meanwhile are
     applied. Without a saved index (or a stale one), every record is read. */
  async load() {
    this.queue = [];
    const profile = await db().getMeta('profile');
    this.team = profile && profile.team ? profile.team.id : null;
    const { rev, values: [head, ...rowParts] } = await db().cached(['caseload', ...ROW_NAMES]);
    const valid = head && head.rev === rev && head.v === INDEX_FORMAT;
    if (valid && head.day === today() && strings(rowParts)) {
      try {
        this.derived = restore(head, rowParts);
        this.rev = rev;
        this.filling = this.fill(head.rev).finally(() => { this.filling = null; });
        this.emit();
        return this;
      } catch (_) { this.derived = null; }
    }
    const parts = valid ? await this.saved(head.rev) : null;
    if (parts) {
      this.parts = parts;
      this.rev = rev;
    } else {
      ({ parts: this.parts, at: this.rev } = await this.rebuild());
      for (let b = 0; b < BUCKETS; b++) this.dirty.add(b);
    }
    this.derived = null;
    this.settle();
    return this;
  }

  /* The saved entries, if they are still those of the index saved at `rev`. */
  async saved(rev) {
    const { values: [head, ...lists] } = await db().cached(['caseload', ...BUCKET_NAMES]);
    if (!head || head.rev !== rev || head.v !== INDEX_FORMAT || !strings(lists)) return null;
    const parts = [];
    try {
      for (const list of lists) {
        parts.push(new Map(JSON.parse(list).map((a) => { const e = unpack(a); return [e.key, e]; })));
        if (parts.length % 8 === 0) await yieldToPage();
      }
    } catch (_) { return null; }
    return parts;
  }

  async fill(rev) {
    await yieldToPage();
    const parts = await this.saved(rev);
    if (parts) this.parts = parts;
    else {
      ({ parts: this.parts, at: this.rev } = await this.rebuild());
      this.derived = null;
      for (let b = 0; b < BUCKETS; b++) this.dirty.add(b);
    }
    this.settle();
  }

  /* After a load: the changes that arrived meanwhile. */
  settle() {
    const queued = this.queue;
    this.queue = null;
    for (const n of queued.sort((a, b) => a.rev - b.rev)) this.apply(n, true);
    if (this.dirty.size) this.scheduleSave();
    this.emit();
  }

  /* Every record, a chunk at a time (each chunk its own short task). */
  async rebuild() {
    for (let attempt = 0; ; attempt++) {
      const parts = Array.from({ length: BUCKETS }, () => new Map());
      let after = null;
      let first = null;
      let last = null;
      for (;;) {
        const { rows, rev } = await db().recordsChunk(after, CHUNK);
        if (first == null) first = rev;
        last = rev;
        for (const rec of rows) {
          const e = summarise(rec);
          if (e) parts[bucketOf(e.key)].set(e.key, e);
        }
        if (rows.length < CHUNK) break;
        after = rows[rows.length - 1].key;
        await yieldToPage();
      }
      if (first === last || attempt >= 2) return { parts, at: last };
    }
  }

  /* A committed write in this context. */
  apply(n, fromQueue) {
    if (n.reset) {
      this.parts = Array.from({ length: BUCKETS }, () => new Map());
      this.rev = 0;
      this.derived = null;
      this.emit();
      return;
    }
    if (this.queue && !fromQueue) { this.queue.push(n); return; }
    if (n.rev <= this.rev) return;
    if (n.rev !== this.rev + 1) { this.rev = -1; this.emit(); return; } // missed one: load again
    for (const [k, e] of n.changes) {
      const b = bucketOf(k);
      if (e && typeof e === 'object') this.parts[b].set(k, e); else this.parts[b].delete(k);
      this.dirty.add(b);
    }
    this.rev = n.rev;
    this.derived = null;
    if (!fromQueue) { this.scheduleSave(); this.emit(); }
  }

  /* Saved a moment after a change, or when a sync ends (not while pages land). */
  scheduleSave() {
    clearTimeout(this.saveTimer);
    this.saveTimer = this.syncing ? null : setTimeout(() => this.save(), SAVE_AFTER_MS);
  }

  /* The changed buckets and the rev they stand for, in one transaction (`now`: without
     a pause between buckets, as the page goes away). */
  async save(now) {
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (this.rev < 0 || this.queue || !this.dirty.size) return;
    const rev = this.rev;
    const taken = [...this.dirty];
    this.dirty.clear();
    const { day, rows, follow } = this.derive();
    const values = { caseload: { rev, day, v: INDEX_FORMAT, follow: JSON.stringify(follow.map(packFollow)) } };
    const size = Math.ceil(rows.length / ROW_PARTS);
    ROW_NAMES.forEach((name, i) => { values[name] = JSON.stringify(rows.slice(i * size, (i + 1) * size).map(packRow)); });
    for (let i = 0; i < taken.length; i++) {
      values[BUCKET_NAMES[taken[i]]] = JSON.stringify([...this.parts[taken[i]].values()].map(pack));
      if (i % 8 === 7 && !now) await yieldToPage();
    }
    let saved = false;
    if (this.rev === rev) saved = await db().setCached(values).then(() => true, () => false);
    if (!saved) { for (const b of taken) this.dirty.add(b); this.scheduleSave(); }
  }

  /* Forget everything held (the app locked). */
  drop() {
    clearTimeout(this.saveTimer);
    this.parts = Array.from({ length: BUCKETS }, () => new Map());
    this.derived = null;
    this.rev = -1;
    this.subscribers.clear();
  }

  subscribe(fn) { this.subscribers.add(fn); return () => this.subscribers.delete(fn); }
  emit() { for (const fn of this.subscribers) { try { fn(); } catch (e) { console.error(e); } } }

  /* Per client: last contact and the soonest open follow-up; the caseload rows. */
  derive() {
    const day = today();
    if (this.derived && this.derived.day === day) return this.derived;
    const clients = [];
    const last = new Map();
    const linked = new Set();
    const follow = [];
    const takenOn = new Set(); // clients another team shared, whose referral this team took on
    for (const part of this.parts) for (const s of part.values()) {
      if (!s.on) continue;
      if (s.e === 'c') clients.push(s);
      else if (s.e === 'r') {
        if (s.to === this.team && TAKEN_ON.includes(s.s)) takenOn.add(s.c);
      } else if (s.e === 'i') {
        if (s.c && (last.get(s.c) || 0) < s.t) last.set(s.c, s.t);
      } else if (s.e === 'f') {
        if (s.iv) linked.add(s.iv);
        if (!s.done) follow.push({ key: s.key, id: s.id, kind: 'follow_up', client_id: s.c, due_on: s.d, assigned: s.a });
      }
    }
    for (const part of this.parts) for (const s of part.values()) {
      if (s.on && s.e === 'i' && s.f && s.c && !s.fd && !linked.has(s.id)) {
        follow.push({ key: s.key, id: s.id, kind: 'intervention', client_id: s.c, due_on: s.f, assigned: null });
      }
    }
    follow.sort((a, b) => (a.due_on < b.due_on ? -1 : a.due_on > b.due_on ? 1 : 0));
    const next = new Map();
    for (const f of follow) if (f.client_id && !next.has(f.client_id)) next.set(f.client_id, f.due_on);
    const mine = (c) => c.tm == null || this.team == null || c.tm === this.team || takenOn.has(c.id);
    const rows = clients.filter(mine).map((c) => new Row(c.id, c.i, c.k, c.dob, c.pc, c.st, c.cf, last.get(c.id) || 0, next.get(c.id) || null));
    rows.sort((a, b) => a.rank - b.rank || b.lastContact - a.lastContact || (a.initials < b.initials ? -1 : a.initials > b.initials ? 1 : 0));
    this.derived = { day, rows, follow, byId: new Map(rows.map((r) => [r.id, r])) };
    return this.derived;
  }

  /* The caseload, in order; with `query`, the rows whose initials or known-as name hold it. */
  rows(query) {
    const rows = this.derive().rows;
    const q = (query || '').trim().toLowerCase();
    return q ? rows.filter((r) => r.find.includes(q)) : rows;
  }
  total() { return this.derive().rows.length; }
  /* Open follow-ups, soonest first (keys of their records, to read them). */
  openFollowUps() { return this.derive().follow; }
  /* A client of the caseload (a row: id, initials, known_as, date_of_birth, ...). */
  client(id) { return this.derive().byId.get(id) || null; }
}

let index = null;
let wired = false;

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
      if (type === 'sync-end') { index.syncing = false; index.save(); }
    });
    // A sync already under way (this page opened during one): save when it ends.
    if (navigator.locks && navigator.locks.query) {
      navigator.locks.query().then((s) => { if (index && s.held.some((l) => l.name === 'outreach-sync')) index.syncing = true; }, () => {});
    }
    addEventListener('pagehide', () => { if (index) index.save(true); });
    document.addEventListener('visibilitychange', () => { if (document.hidden && index) index.save(true); });
    if (self.Outreach.vault) {
      self.Outreach.vault.on((type) => {
        if (type === 'unlocked' || !index) return;
        const old = index;
        index = null;
        old.save(true).finally(() => old.drop());
      });
    }
  }
  return index.ready();
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

export function followUpState(due) {
  if (!due) return null;
  const t = today();
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
