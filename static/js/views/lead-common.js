/* Shared by the team lead's screens: the sub-navigation, review data kept for offline
   use (the last response in the IndexedDB `meta` store), and actions that need the
   network (never queued in the outbox). */
import { h, fmtDate, fmtDateTime } from '../ui.js';

export const ASSIGN_REASONS = [
  { value: 'rebalance', label: 'Rebalancing caseloads' },
  { value: 'worker_leaving', label: 'Key worker is leaving' },
  { value: 'worker_absent', label: 'Key worker is absent' },
  { value: 'client_request', label: 'The client asked for a change' },
  { value: 'location', label: 'The client has moved location' },
  { value: 'other', label: 'Other reason' },
];
export const reasonLabel = (code) => (ASSIGN_REASONS.find((r) => r.value === code) || {}).label || code || 'No reason given';

/* Days without a sync before a worker's phone is flagged on the overview. */
export const STALE_DAYS = 3;

/* Clients seen on any lead screen in this session, by id (names for the reassign form). */
export const known = new Map();
export function remember(items) {
  for (const c of items || []) if (c && c.id) known.set(c.id, Object.assign(known.get(c.id) || {}, c));
}

const SUBNAV = [['', 'Overview'], ['attention', 'Attention'], ['duplicates', 'Duplicates']];

export function leadNav(current) {
  return h('nav', { class: 'subnav', 'aria-label': 'Team lead' }, h('ul', {}, SUBNAV.map(([p, label]) =>
    h('li', {}, h('a', { href: '#/team' + (p ? '/' + p : ''), 'aria-current': p === current ? 'page' : null, text: label })))));
}

export function heading(text) {
  return h('h1', { tabindex: '-1', text });
}

/* GET `path` when online and keep the answer under meta `lead:<key>`; offline (or when the
   request cannot reach the server) return the stored copy. -> {data, at, stale, offline} */
export async function cached(ctx, key, path, enrich) {
  const { api, db } = ctx.O;
  const name = 'lead:' + key;
  if (navigator.onLine) {
    try {
      let data = await api.call('GET', path);
      if (enrich) data = await enrich(data);
      const at = Date.now();
      await db.setMeta({ [name]: { user_id: ctx.profile.id, at, path, data } });
      return { data, at, stale: false };
    } catch (e) {
      if (!(e instanceof api.NetworkError)) throw e;
    }
  }
  const kept = await db.getMeta(name).catch(() => null);
  const mine = kept && kept.user_id === ctx.profile.id ? kept : null;
  return { data: mine ? mine.data : null, at: mine ? mine.at : null, path: mine ? mine.path : null, stale: true, offline: !navigator.onLine };
}

/* The notice over a stored copy, or the message when nothing was stored yet. */
export function staleNotice(res, what) {
  const lead = res.offline ? 'Offline' : 'No connection to the server';
  if (!res.data) {
    return h('p', { class: 'warning', role: 'status', text: lead + ' — ' + what + ' have not been opened on this phone yet. Connect to the internet and open this screen again.' });
  }
  return h('p', { class: 'warning offline-notice', role: 'status', text: lead + ' — showing ' + what + ' from ' + fmtDateTime(new Date(res.at).toISOString()) + '. Actions need a connection.' });
}

export function errorText(e, fallback) {
  return (e && e.body && e.body.message) || (e && e.message) || fallback;
}

/* Run an action that needs the network. `verb` is e.g. "Reassigning". Writes the outcome
   into `status` (an aria-live region) and returns the API's answer, or null. */
export async function online(ctx, verb, status, fn) {
  const { api } = ctx.O;
  if (!navigator.onLine) {
    say(status, 'You’re offline. ' + verb + ' needs a connection — nothing was changed.', true);
    return null;
  }
  say(status, verb + '…');
  try {
    const out = await fn(api);
    say(status, '');
    return out;
  } catch (e) {
    if (e instanceof api.NetworkError) {
      say(status, 'No connection. ' + verb + ' needs a connection and was not confirmed. Try again when you are online (trying twice is safe).', true);
    } else if (!(e instanceof api.SignedOut)) {
      say(status, errorText(e, verb + ' failed.'), true);
    }
    return null;
  }
}

export function say(status, text, isError) {
  status.textContent = text;
  status.classList.toggle('error', !!isError);
}

export function statusRegion(id) {
  return h('div', { id, class: 'action-status', role: 'status', 'aria-live': 'polite', tabindex: '-1' });
}

/* "AB (Jo)" plus the date of birth, for lists and confirmations. */
export function who(c) {
  if (!c) return 'Unknown client';
  return (c.initials || '??') + (c.known_as ? ' (' + c.known_as + ')' : '');
}
export function born(c) {
  return c && c.date_of_birth ? 'born ' + fmtDate(c.date_of_birth) : '';
}

/* A client another team shared with this one (a referral the team took on): whose it is,
   and, once sharing stopped, that the details are as the team held them then. */
const SHARED_STEPS = { accepted: 'referral accepted', first_contact: 'first contact made', treatment_entry: 'in treatment' };
export function sharedNote(c) {
  const s = c && c.shared_from;
  if (!s) return null;
  const lines = ['Shared by ' + (s.team_name || 'a partner team') + ' (' + (SHARED_STEPS[s.referral_status] || 'referral') + ')'];
  const why = s.consent_withdrawn ? 'Consent to share withdrawn' : s.agreement_ended ? 'The data-sharing agreement has ended' : '';
  if (why) lines.push(why + (s.held_until ? ': details as held on ' + fmtDate(s.held_until) : '') + '; nothing newer is shared');
  return h('p', { class: 'row-meta shared-note', text: lines.join('. ') + '.' });
}

export function daysAgo(iso) {
  if (!iso) return null;
  return Math.floor((Date.now() - new Date(iso).getTime()) / 86400000);
}

/* Attention reasons in words. */
export function reasonTexts(c, days) {
  const out = [];
  for (const r of c.reasons || []) {
    if (r === 'no_contact') {
      out.push(c.last_contact_at
        ? 'No contact for ' + c.days_since_contact + ' days (last ' + fmtDate(c.last_contact_at) + ')'
        : 'Never seen since added ' + c.days_since_contact + ' days ago');
    } else if (r === 'overdue_follow_up') {
      out.push(c.follow_ups_overdue > 1 ? c.follow_ups_overdue + ' follow-ups overdue' : 'Follow-up overdue');
    } else if (r === 'treatment_not_confirmed') {
      out.push('Referred to treatment' + (c.referred_at ? ' on ' + fmtDate(c.referred_at) : '') + ', entry not confirmed');
    } else if (r === 'duplicate') {
      out.push('May be recorded twice (probable duplicate)');
    } else out.push(r);
  }
  if (!out.length && days) out.push('No contact for ' + days + ' days or more');
  return out;
}

/* Active members of the team from an overview answer, for the reassign form. */
export function teamWorkers(overview) {
  return ((overview && overview.workers) || []).filter((w) => w.active !== false && w.in_team !== false);
}

/* The team's overview: the stored copy when there is one (filters and forms only need
   the names), else from the API. -> overview or null */
export async function overviewForForms(ctx) {
  const kept = await ctx.O.db.getMeta('lead:overview').catch(() => null);
  if (kept && kept.user_id === ctx.profile.id) return kept.data;
  try { return (await cached(ctx, 'overview', '/api/v1/caseload/overview')).data; } catch (_) { return null; }
}
