/* Read models over the local store: caseload, a client's history, follow-ups. */
import { today } from './ui.js';

const db = () => self.Outreach.db;

export async function loadAll() {
  const [clients, interventions, followUps] = await Promise.all([
    db().records('client'), db().records('intervention'), db().records('follow_up'),
  ]);
  const live = (r) => !r.deleted && !r.removed && !(r.data && r.data.deleted_at);
  return { clients: clients.filter(live), interventions: interventions.filter(live), followUps: followUps.filter(live) };
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

export function caseload(all) {
  const last = new Map();
  for (const i of all.interventions) {
    const c = i.data.client_id;
    if (!c) continue;
    if (!last.has(c) || last.get(c) < i.data.occurred_at) last.set(c, i.data.occurred_at);
  }
  const next = new Map();
  for (const f of openFollowUps(all)) {
    if (!next.has(f.client_id) || next.get(f.client_id) > f.due_on) next.set(f.client_id, f.due_on);
  }
  const rank = { overdue: 0, due: 1 };
  return all.clients.map((c) => ({
    rec: c, lastContact: last.get(c.id) || null, followUp: next.get(c.id) || null, followUpState: followUpState(next.get(c.id)),
  })).sort((a, b) => {
    const ra = rank[a.followUpState] ?? 2;
    const rb = rank[b.followUpState] ?? 2;
    if (ra !== rb) return ra - rb;
    return (b.lastContact || '').localeCompare(a.lastContact || '') || (a.rec.data.initials || '').localeCompare(b.rec.data.initials || '');
  });
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
