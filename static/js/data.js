/* Read models over the local store: the caseload index (js/case-index.js: in memory,
   kept in step with every write), a client's records, follow-ups. Screens never load
   every record: the caseload, search and the client picker read the index; a client's
   page reads that client's records through the store's `client` index. */
import { live } from './index-format.js';

export { caseIndex, prefetchIndex } from './case-index.js';
export { live, followUpState } from './index-format.js';

const db = () => self.Outreach.db;

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
