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

/* What the index keeps of a record (run for every record written, so: small). */
function summarise(rec) {
  const d = rec.data || {};
  const on = live(rec) ? 1 : 0;
  if (rec.entity === 'client') {
    return { e: 'c', key: rec.key, id: rec.id, i: d.initials || '', k: d.known_as || '', dob: d.date_of_birth || '', pc: d.postcode_district || '', st: rec.status || '', cf: rec.conflict && rec.conflict.length ? 1 : 0, on, tm: d.team_id ?? null };
  }
  if (rec.entity === 'intervention') {
    const t = d.occurred_at ? Date.parse(d.occurred_at) : NaN;
    return { e: 'i', key: rec.key, id: rec.id, c: d.client_id || '', t: isNaN(t) ? 0 : t, f: d.follow_up_on || '', fd: d.follow_up_done ? 1 : 0, on };
  }
  if (rec.entity === 'follow_up') {
    return { e: 'f', key: rec.key, id: rec.id, c: d.client_id || '', d: d.due_on || '', done: d.done_at ? 1 : 0, iv: d.intervention_id || '', a: d.assigned_to ?? d.assigned_to_id ?? null, on };
  }
  if (rec.entity === 'referral') {
    return { e: 'r', key: rec.key, id: rec.id, c: d.client_id || '', to: d.to_team_id ?? null, s: d.status || '', on };
  }
  return null;
}

/* Saved as JSON arrays (smaller and quicker to read back than objects). */
const FIELDS = { c: ['key', 'id', 'i', 'k', 'dob', 'pc', 'st', 'cf', 'on', 'tm'], r: ['key', 'id', 'c', 'to', 's', 'on'], i: ['key', 'id', 'c', 't', 'f', 'fd', 'on'], f: ['key', 'id', 'c', 'd', 'done', 'iv', 'a', 'on'] };
const pack = (s) => [s.e, ...FIELDS[s.e].map((f) => s[f])];
function unpack(a) {
  const out = { e: a[0] };
  FIELDS[a[0]].forEach((f, n) => { out[f] = a[n + 1]; });
  return out;
}

const yieldToPage = () => new Promise((resolve) => setTimeout(resolve, 0));

class CaseIndex {
  constructor() {
    this.entries = new Map();
    this.rev = -1;
    this.team = null; // the phone's team (from the profile), for shared clients
    this.derived = null;
    this.subscribers = new Set();
    this.queue = null; // notifications that arrive while loading
    this.loading = null;
    this.saveTimer = null;
  }

  /* Up to date with the store (a write by another tab or the service worker shows as a
     rev this context did not see: load again). */
  async ready() {
    if (this.loading) return this.loading;
    const rev = (await db().getMeta('rev')) || 0;
    if (rev === this.rev) return this;
    if (this.loading) return this.loading;
    this.loading = this.load().finally(() => { this.loading = null; });
    return this.loading;
  }

  async load() {
    this.queue = [];
    const [rev, saved, profile] = await db().metas(['rev', 'caseload_index', 'profile']);
    this.team = profile && profile.team ? profile.team.id : null;
    let entries = null;
    let at = rev || 0;
    if (saved && saved.rev === at && saved.v === INDEX_FORMAT && typeof saved.list === 'string') {
      try { entries = new Map(JSON.parse(saved.list).map((a) => { const s = unpack(a); return [s.key, s]; })); } catch (_) { entries = null; }
    }
    if (!entries) ({ entries, at } = await this.rebuild());
    this.entries = entries;
    this.rev = at;
    const queued = this.queue;
    this.queue = null;
    for (const n of queued.sort((a, b) => a.rev - b.rev)) this.apply(n, true);
    this.derived = null;
    if (!saved || saved.rev !== this.rev) this.scheduleSave();
    this.emit();
    return this;
  }

  /* Every record, a chunk at a time (each chunk its own short task). */
  async rebuild() {
    for (let attempt = 0; ; attempt++) {
      const entries = new Map();
      let after = null;
      let first = null;
      let last = null;
      for (;;) {
        const { rows, rev } = await db().recordsChunk(after, CHUNK);
        if (first == null) first = rev;
        last = rev;
        for (const rec of rows) {
          const s = summarise(rec);
          if (s) entries.set(s.key, s);
        }
        if (rows.length < CHUNK) break;
        after = rows[rows.length - 1].key;
        await yieldToPage();
      }
      if (first === last || attempt >= 2) return { entries, at: last };
    }
  }

  /* A committed write in this context. */
  apply(n, fromQueue) {
    if (n.reset) { this.entries = new Map(); this.rev = 0; this.derived = null; this.emit(); return; }
    if (this.queue && !fromQueue) { this.queue.push(n); return; }
    if (n.rev <= this.rev) return;
    if (n.rev !== this.rev + 1) { this.rev = -1; this.emit(); return; } // missed one: load again
    for (const [k, s] of n.changes) {
      if (s && typeof s === 'object') this.entries.set(k, s); else this.entries.delete(k);
    }
    this.rev = n.rev;
    this.derived = null;
    if (!fromQueue) { this.scheduleSave(); this.emit(); }
  }

  scheduleSave() {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.save(), SAVE_AFTER_MS);
  }

  async save() {
    clearTimeout(this.saveTimer);
    if (this.rev < 0 || this.queue) return;
    const rev = this.rev;
    const list = JSON.stringify([...this.entries.values()].map(pack));
    await db().setMeta({ caseload_index: { rev, list, v: INDEX_FORMAT } }).catch(() => {});
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
    const takenOn = new Set(); // clients another team shared, whose referral this team accepted
    for (const s of this.entries.values()) {
      if (!s.on) continue;
      if (s.e === 'c') clients.push(s);
      else if (s.e === 'r') {
        if (s.to === this.team && TAKEN_ON.includes(s.s)) takenOn.add(s.c);
      }
      else if (s.e === 'i') {
        if (s.c && (last.get(s.c) || 0) < s.t) last.set(s.c, s.t);
      } else if (s.e === 'f') {
        if (s.iv) linked.add(s.iv);
        if (!s.done) follow.push({ key: s.key, id: s.id, kind: 'follow_up', client_id: s.c, due_on: s.d, assigned: s.a });
      }
    }
    for (const s of this.entries.values()) {
      if (s.on && s.e === 'i' && s.f && s.c && !s.fd && !linked.has(s.id)) {
        follow.push({ key: s.key, id: s.id, kind: 'intervention', client_id: s.c, due_on: s.f, assigned: null });
      }
    }
    follow.sort((a, b) => (a.due_on < b.due_on ? -1 : a.due_on > b.due_on ? 1 : 0));
    const next = new Map();
    for (const f of follow) if (f.client_id && !next.has(f.client_id)) next.set(f.client_id, f.due_on);
    const rank = { overdue: 0, due: 1 };
    const mine = (c) => c.tm == null || this.team == null || c.tm === this.team || takenOn.has(c.id);
    const rows = clients.filter(mine).map((c) => {
      const followUp = next.get(c.id) || null;
      const state = followUpState(followUp);
      return {
        id: c.id, key: c.key, initials: c.i, known_as: c.k, date_of_birth: c.dob, postcode_district: c.pc,
        status: c.st, conflict: c.cf, lastContact: last.get(c.id) || 0, followUp, followUpState: state,
        rank: rank[state] ?? 2, find: c.i.toLowerCase() + '\n' + c.k.toLowerCase(),
      };
    });
    rows.sort((a, b) => a.rank - b.rank || b.lastContact - a.lastContact || (a.initials < b.initials ? -1 : a.initials > b.initials ? 1 : 0));
    this.derived = { day, rows, follow };
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
  client(id) { const s = this.entries.get(db().key('client', id)); return s && s.on ? s : null; }
}

let index = null;

/* The page's one caseload index, loaded (or brought up to date) before it answers. */
export function caseIndex() {
  if (!index) {
    index = new CaseIndex();
    db().onRecords((n) => index.apply(n), summarise);
    // Another tab or the service worker wrote: their rev shows it; look again.
    self.Outreach.api.on((type, _detail, remote) => {
      if (remote && (type === 'changed' || type === 'sync-end')) index.ready().catch(() => {});
    });
    addEventListener('pagehide', () => { if (index.saveTimer) index.save(); });
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
