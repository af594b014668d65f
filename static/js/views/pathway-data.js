/* Pathways on the phone: referrals, consent and diversion episodes read from the local
   store, and the rules the server holds, checked here first so a worker offline hears
   the same reason the server would give (DESIGN §5b). */
import { live } from '../data.js';

const O = () => self.Outreach;
export const codes = () => (O().spec && O().spec.pathways) || {};

export const NO_CONSENT = "No consent: record the client's consent to share before referring.";
export const NO_AGREEMENT = 'No agreement: your team has no data-sharing agreement in force with a partner team.';
export const SHARED_NOTE = 'Shared with your team by another team under a data-sharing agreement: only that team can change these details.';

export function labelOf(list, code) {
  const t = (list || []).find((x) => x.code === code);
  return t ? t.label : code || '';
}

/* The phone's reference data: its team, workers and partner teams (from the first pull). */
export async function reference() {
  return (await O().db.getMeta('reference')) || {};
}

export function teamName(ref, teamId, profile) {
  if (profile && profile.team && profile.team.id === teamId) return profile.team.name;
  const p = (ref.partners || []).find((t) => t.id === teamId);
  return p ? p.name : 'Partner team ' + teamId;
}

/* Is this client the team's own (not shared with it by another team)? */
export function ownClient(rec, profile) {
  const team = rec.data.team_id;
  return team == null || !profile.team || team === profile.team.id;
}

/* Referrals of the team (incoming and outgoing), newest first. */
export async function allReferrals() {
  const recs = (await O().db.records('referral')).filter(live);
  return recs.sort((a, b) => (b.data.status_at || '').localeCompare(a.data.status_at || ''));
}

export function incoming(rec, profile) {
  return !!profile.team && rec.data.to_team_id === profile.team.id;
}

/* A client's referrals and episodes (one indexed read). */
export async function clientPathway(id) {
  const recs = (await O().db.byClient(id)).filter(live);
  return {
    client: recs.find((r) => r.entity === 'client' && r.id === id) || null,
    referrals: recs.filter((r) => r.entity === 'referral').sort((a, b) => (b.data.status_at || '').localeCompare(a.data.status_at || '')),
    episodes: recs.filter((r) => r.entity === 'episode').sort((a, b) => (b.data.started_on || '').localeCompare(a.data.started_on || '')),
  };
}

/* Why this client cannot be referred now, or null. */
export function referBlocked(client, ref) {
  if (!client || client.data.consent_to_share !== true) return NO_CONSENT;
  if (!(ref.partners || []).length) return NO_AGREEMENT;
  return null;
}

/* The steps a referral has reached, each with its time. */
export function steps(d) {
  const out = [];
  const add = (name, at) => { if (at) out.push([name, at]); };
  add('Sent', d.sent_at || (d.status === 'sent' ? d.status_at : null));
  add('Accepted', d.accepted_at || (d.status === 'accepted' ? d.status_at : null));
  add('Declined', d.declined_at || (d.status === 'declined' ? d.status_at : null));
  add('First contact', d.first_contact_at || (d.status === 'first_contact' ? d.status_at : null));
  add('In treatment', d.treatment_entry_at || (d.status === 'treatment_entry' ? d.status_at : null));
  add('Closed', d.closed_at || (d.status === 'closed' ? d.status_at : null));
  return out;
}

/* Move a referral on (accept, decline, close): the whole record, as phones send it. */
export async function moveReferral(rec, status, closedReason) {
  const data = Object.assign({}, rec.data, { status, status_at: new Date().toISOString(), closed_reason: closedReason || null });
  await O().sync.mutate('referral', 'upsert', rec.id, data);
}

export function addMonths(iso, months) {
  const [y, m, d] = iso.split('-').map(Number);
  const target = new Date(Date.UTC(y, m - 1 + months, 1));
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d, last));
  return target.toISOString().slice(0, 10);
}

/* The consent question on the client form: given, withdrawn or not asked. */
export function consentField(d, field, select) {
  const value = d.consent_to_share === true ? 'yes' : d.consent_to_share === false ? 'no' : '';
  return field('Consent to share with partner teams', select([
    { value: '', label: 'Not asked yet' },
    { value: 'yes', label: 'Given' },
    { value: 'no', label: 'Withdrawn or refused' },
  ], value, { name: 'consent_to_share' }), 'Needed before referring to a partner team');
}

/* The client's consent fields for a save: when it changed, the time it was recorded. */
export function consentValues(consent, d) {
  const v = consent.input.value;
  const value = v === 'yes' ? true : v === 'no' ? false : null;
  if (value === (d.consent_to_share ?? null)) return {};
  if (value === null) return { consent_to_share: null, consent_recorded_at: null };
  return { consent_to_share: value, consent_recorded_at: new Date().toISOString() };
}

/* An incoming referral not answered for longer than the server's set time. */
export function waitingTooLong(rec, profile) {
  const d = rec.data;
  const hours = codes().referral_wait_hours || 48;
  const sent = Date.parse(d.sent_at || d.status_at || '');
  return incoming(rec, profile) && d.status === 'sent' && !isNaN(sent) && Date.now() - sent > hours * 3600000;
}

/* Why an open episode needs attention ('Due to end', 'Session overdue'), or []. */
export function episodeAlerts(d) {
  if (d.outcome) return [];
  const now = new Date().toISOString().slice(0, 10);
  const soon = new Date(Date.now() + (codes().episode_end_warning_days || 14) * 86400000).toISOString().slice(0, 10);
  const out = [];
  if (d.planned_end_on && d.planned_end_on <= soon) out.push('Due to end');
  if (d.next_session_on && d.next_session_on < now) out.push('Session overdue');
  return out;
}
