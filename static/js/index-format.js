/* The caseload index's entries and rows, and the saved index's format (js/case-index.js
   keeps the index; js/data.js is what screens import). Small, allocation-light shapes:
   the index holds one entry per record, 25,000 for a big team. */
import { today } from './ui.js';

const db = () => self.Outreach.db;
export const INDEX_FORMAT = 3; // a saved index of another format is rebuilt

export const live = (r) => !!r && !r.deleted && !r.removed && !(r.data && r.data.deleted_at);

export function followUpState(due, t = today()) {
  if (!due) return null;
  if (due < t) return 'overdue';
  if (due === t) return 'due';
  return 'upcoming';
}

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
export function summarise(rec) {
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

export function pack(x) {
  const out = [x.e, x.id, x.on];
  for (const f of FIELDS[x.e]) out.push(x[f]);
  return out;
}
export function unpack(a) {
  const x = new Entry(a[0], a[1], a[2]);
  const fields = FIELDS[a[0]];
  for (let n = 0; n < fields.length; n++) x[fields[n]] = a[n + 3];
  return x;
}

/* A caseload row: a client, their last contact and their soonest open follow-up. */
const RANK = { overdue: 0, due: 1 };
export class Row {
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
export const packRow = (r) => [r.id, r.initials, r.known_as, r.date_of_birth, r.postcode_district, r.status, r.conflict, r.lastContact, r.followUp];
export const packFollow = (f) => [f.key, f.id, f.kind, f.client_id, f.due_on, f.assigned];

export const ORDER = (a, b) => a.rank - b.rank || b.lastContact - a.lastContact || (a.initials < b.initials ? -1 : a.initials > b.initials ? 1 : 0);

// A task boundary (input and frames go first) that a hidden tab does not throttle as it
// does timers: a sync in the background still saves its index promptly.
export const yieldToPage = () => db().yieldTask();

/* The saved index (db.js `saveSnapshot`) is one value sealed as bytes, one decryption:
   UTF-8 lines, each a JSON value: a head ({v, rev, day, team}), the caseload's rows as
   they were derived, its open follow-ups, then the entries in chunks. The rows are
   decoded first (the caseload is drawn from them), the entries a chunk per task after.
   What changed after it was saved is in the deltas (one per write, by rev): only those
   are decrypted to bring it up to date. */
export const ENTRY_CHUNK = 2500;
const decoder = new TextDecoder();

export function split(bytes) {
  const ends = [];
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) ends.push(at);
  ends.push(bytes.length);
  const line = (n) => decoder.decode(bytes.subarray(n ? ends[n - 1] + 1 : 0, ends[n]));
  return { head: JSON.parse(line(0)), count: ends.length, line };
}

/* The caseload as saved; on another day the follow-up states change, so the order too. */
export function restore(parts) {
  const rows = [];
  for (const a of JSON.parse(parts.line(1))) rows.push(new Row(...a));
  if (parts.head.day !== today()) rows.sort(ORDER);
  const follow = JSON.parse(parts.line(2)).map(([key, id, kind, client_id, due_on, assigned]) => ({ key, id, kind, client_id, due_on, assigned }));
  return { day: today(), rows, follow, byId: new Map(rows.map((r) => [r.id, r])) };
}

/* The saved entries, a chunk per task. */
export async function readEntries(parts) {
  const all = new Map();
  for (let n = 3; n < parts.count; n++) {
    for (const a of JSON.parse(parts.line(n))) { const e = unpack(a); all.set(e.key, e); }
    if (n + 1 < parts.count) await yieldToPage();
  }
  return all;
}
