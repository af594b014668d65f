/* Referrals (#/referrals): incoming referrals from partner teams to accept or decline
   (with a reason), then the team's other referrals, in and out, with where each has got
   to. Accepting puts the client in this team's caseload; the referring team keeps its own. */
import { h, fmtDate, fmtDateTime, clientName, statusTag, select } from '../ui.js';
import {
  codes, labelOf, reference, teamName, allReferrals, incoming, moveReferral, waitingTooLong, episodeAlerts,
} from './pathway-data.js';

export const live = true;

export async function render(ctx) {
  const [refs, ref] = await Promise.all([allReferrals(), reference()]);
  const names = new Map();
  for (const r of refs) {
    if (!names.has(r.data.client_id)) {
      const client = await ctx.O.db.record('client', r.data.client_id);
      names.set(r.data.client_id, client ? clientName(client.data) : 'Client no longer shared');
    }
  }
  const waiting = refs.filter((r) => incoming(r, ctx.profile) && r.data.status === 'sent');
  const others = refs.filter((r) => !waiting.includes(r));
  const episodes = (await ctx.O.db.records('episode')).filter((e) => !e.data.deleted_at && episodeAlerts(e.data).length)
    .sort((a, b) => (a.data.planned_end_on || '').localeCompare(b.data.planned_end_on || ''));
  for (const e of episodes) {
    if (!names.has(e.data.client_id)) {
      const client = await ctx.O.db.record('client', e.data.client_id);
      names.set(e.data.client_id, client ? clientName(client.data) : 'Client');
    }
  }
  ctx.append(
    h('h1', { tabindex: '-1', text: 'Referrals' }),
    ctx.notice ? h('p', { class: 'info', role: 'status', text: ctx.notice }) : null,
    h('h2', { text: 'Incoming referrals' }),
    waiting.length
      ? h('ul', { class: 'list', id: 'incoming' }, waiting.map((r) => item(ctx, r, ref, names, true)))
      : h('p', { class: 'muted', text: 'No referrals waiting for your team.' }),
    h('h2', { text: 'All referrals' }),
    others.length
      ? h('ul', { class: 'list' }, others.map((r) => item(ctx, r, ref, names, false)))
      : h('p', { class: 'muted', text: 'None yet.' }),
    h('h2', { text: 'Diversion episodes needing attention' }),
    episodes.length
      ? h('ul', { class: 'list', id: 'episodes-attention' }, episodes.map((e) => h('li', {}, h('a', {
        class: 'row', href: '#/pathway/' + encodeURIComponent(e.data.client_id) + '?episode=' + encodeURIComponent(e.id),
      }, h('span', { class: 'row-title', text: names.get(e.data.client_id) + ' · ' + labelOf(codes().episode_kinds, e.data.kind) }),
        ...episodeAlerts(e.data).map((a) => h('span', { class: 'tag tag-overdue', text: a })),
        h('span', { class: 'row-meta', text: 'Planned end ' + fmtDate(e.data.planned_end_on) + (e.data.next_session_on ? ' · next session ' + fmtDate(e.data.next_session_on) : '') })))))
      : h('p', { class: 'muted', text: 'None due to end soon or with a session overdue.' }),
  );
}

function item(ctx, r, ref, names, respond) {
  const c = codes();
  const d = r.data;
  const into = incoming(r, ctx.profile);
  const who = into ? 'From ' + teamName(ref, d.team_id, ctx.profile) : 'To ' + teamName(ref, d.to_team_id, ctx.profile);
  return h('li', {}, h('div', { class: 'row' },
    h('a', { class: 'row-title', href: '#/pathway/' + encodeURIComponent(d.client_id), text: names.get(d.client_id) }),
    statusTag(r),
    waitingTooLong(r, ctx.profile) ? h('span', { class: 'tag tag-overdue', text: 'Waiting too long' }) : null,
    h('span', { class: 'row-meta', text: who + ' · ' + labelOf(c.referral_reasons, d.reason) + ' · ' + labelOf(c.urgencies, d.urgency) }),
    h('span', { class: 'row-meta', text: labelOf(c.referral_statuses, d.status) + ' ' + fmtDateTime(d.status_at) }),
    d.notes ? h('p', { class: 'row-meta', text: d.notes }) : null,
    respond ? respondButtons(ctx, r) : null));
}

/* Accept, or decline with a reason, an incoming referral (saved offline, synced later). */
export function respondButtons(ctx, r) {
  const c = codes();
  const accept = h('button', { type: 'button', class: 'btn btn-primary', text: 'Accept' });
  const decline = h('button', { type: 'button', class: 'btn', text: 'Decline' });
  const reasonId = 'decline-' + r.id;
  const reason = select([{ value: '', label: 'Select' }, ...(c.decline_reasons || []).map((x) => ({ value: x.code, label: x.label }))], '', { id: reasonId });
  const confirm = h('button', { type: 'button', class: 'btn', text: 'Confirm decline' });
  const err = h('p', { class: 'error', hidden: true, id: reasonId + '-err' });
  const ask = h('div', { class: 'field', hidden: true }, h('label', { for: reasonId, text: 'Why decline?' }), reason, err, confirm);
  const done = async (status, why, message) => {
    accept.disabled = decline.disabled = confirm.disabled = true;
    await moveReferral(r, status, why);
    ctx.flash(message);
    ctx.go(location.hash.replace(/^#\//, ''));
    ctx.runSync('save');
  };
  accept.addEventListener('click', () => done('accepted', null, 'Referral accepted: the client is in your caseload.'));
  decline.addEventListener('click', () => { ask.hidden = false; reason.focus(); });
  confirm.addEventListener('click', () => {
    if (!reason.value) {
      err.hidden = false;
      err.textContent = 'Choose why the referral is declined.';
      reason.setAttribute('aria-invalid', 'true');
      reason.setAttribute('aria-describedby', err.id);
      reason.focus();
      return;
    }
    done('declined', reason.value, 'Referral declined.');
  });
  return h('div', {}, h('div', { class: 'actions' }, accept, decline), ask);
}

/* The steps a team moves a referral on by hand (DESIGN §5b): the receiving team closes
   one it took on (lost contact, moved away, died, other); the referring team withdraws
   one not yet answered. Saved offline, synced later; the server checks the same rules. */
const TAKEN_ON = ['accepted', 'first_contact', 'treatment_entry'];
export function closeButtons(ctx, r) {
  const d = r.data;
  const into = incoming(r, ctx.profile);
  if (!into && d.status === 'sent') {
    const withdraw = h('button', { type: 'button', class: 'btn', text: 'Withdraw referral' });
    withdraw.addEventListener('click', async () => {
      withdraw.disabled = true;
      await moveReferral(r, 'closed', 'withdrawn');
      ctx.flash('Referral withdrawn.');
      ctx.go(location.hash.replace(/^#\//, ''));
      ctx.runSync('save');
    });
    return h('div', { class: 'actions' }, withdraw);
  }
  if (!into || !TAKEN_ON.includes(d.status)) return null;
  const reasons = (codes().close_reasons || []).filter((x) => x.code !== 'withdrawn');
  const open = h('button', { type: 'button', class: 'btn', 'aria-expanded': 'false', text: 'Close referral' });
  const reasonId = 'close-' + r.id;
  const reason = select([{ value: '', label: 'Select' }, ...reasons.map((x) => ({ value: x.code, label: x.label }))], '', { id: reasonId });
  const confirm = h('button', { type: 'button', class: 'btn', text: 'Confirm close' });
  const err = h('p', { class: 'error', hidden: true, id: reasonId + '-err' });
  const ask = h('div', { class: 'field', hidden: true }, h('label', { for: reasonId, text: 'Why close it?' }), reason, err, confirm);
  open.addEventListener('click', () => {
    ask.hidden = !ask.hidden;
    open.setAttribute('aria-expanded', String(!ask.hidden));
    if (!ask.hidden) reason.focus();
  });
  confirm.addEventListener('click', async () => {
    if (!reason.value) {
      err.hidden = false;
      err.textContent = 'Choose why the referral is closed.';
      reason.setAttribute('aria-invalid', 'true');
      reason.setAttribute('aria-describedby', err.id);
      reason.focus();
      return;
    }
    open.disabled = confirm.disabled = true;
    await moveReferral(r, 'closed', reason.value);
    ctx.flash('Referral closed.');
    ctx.go(location.hash.replace(/^#\//, ''));
    ctx.runSync('save');
  });
  return h('div', {}, h('div', { class: 'actions' }, open), ask);
}
