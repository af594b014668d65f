/* A client's pathway (#/pathway/<client id>): consent to share, referrals to partner
   teams and where each has got to, diversion episodes. Refer and open an episode from
   here, offline like everything else; #/pathway/<id>?do=refer|episode and
   ?episode=<episode id> open the forms (views/pathway-forms.js). */
import { h, fmtDate, fmtDateTime, clientName, statusTag } from '../ui.js';
import {
  codes, labelOf, reference, teamName, ownClient, clientPathway, referBlocked, steps, incoming,
  episodeAlerts, SHARED_NOTE,
} from './pathway-data.js';
import { respondButtons, closeButtons } from './referrals.js';

// Re-rendered after a sync that changed records, except its forms (never under the
// worker's typing): set on each render.
export let live = true;

export async function render(ctx, [id], query) {
  live = !(query.get('do') || query.get('episode'));
  const all = await clientPathway(id);
  const rec = all.client;
  if (!rec) {
    ctx.append(h('h1', { tabindex: '-1', text: 'Client not found' }), h('p', { text: 'This client is not on this phone.' }), h('a', { href: '#/caseload', class: 'btn', text: 'Back to caseload' }));
    return;
  }
  const ref = await reference();
  if (query.get('do') || query.get('episode')) {
    const forms = await import('./pathway-forms.js');
    return forms.render(ctx, rec, all, ref, query);
  }
  const c = codes();
  const own = ownClient(rec, ctx.profile);
  const blocked = own ? referBlocked(rec, ref) : null;
  ctx.append(
    h('h1', { tabindex: '-1' }, 'Pathway of ', clientName(rec.data), statusTag(rec)),
    ctx.notice ? h('p', { class: 'info', role: 'status', text: ctx.notice }) : null,
    h('p', {}, h('a', { href: '#/client/' + encodeURIComponent(id), text: 'Back to client' })),
    own ? null : h('p', { class: 'info', text: SHARED_NOTE }),
    consentBlock(ctx, rec, own),
    h('h2', { text: 'Referrals' }),
    own ? h('div', { class: 'actions' },
      blocked
        ? h('p', { class: 'warning', id: 'refer-blocked', text: blocked })
        : h('a', { class: 'btn btn-primary', href: '#/pathway/' + encodeURIComponent(id) + '?do=refer', text: 'Refer to a partner team' })) : null,
    all.referrals.length
      ? h('ul', { class: 'list' }, all.referrals.map((r) => referralItem(ctx, r, ref, c)))
      : h('p', { class: 'muted', text: 'No referrals.' }),
    h('h2', { text: 'Diversion episodes' }),
    h('div', { class: 'actions' }, h('a', { class: 'btn', href: '#/pathway/' + encodeURIComponent(id) + '?do=episode', text: 'Open a diversion episode' })),
    all.episodes.length
      ? h('ul', { class: 'list' }, all.episodes.map((e) => episodeItem(ctx, e, c)))
      : h('p', { class: 'muted', text: 'No diversion episodes.' }),
  );
}

function consentBlock(ctx, rec, own) {
  const d = rec.data;
  const state = d.consent_to_share === true ? 'Given' : d.consent_to_share === false ? 'Withdrawn' : 'Not recorded';
  const when = d.consent_recorded_at ? ' on ' + fmtDateTime(d.consent_recorded_at) : '';
  const out = [
    h('h2', { text: 'Consent to share' }),
    h('p', { id: 'consent-state' }, h('strong', { text: state + when })),
  ];
  if (d.consent_to_share === false) {
    out.push(h('p', { class: 'muted', text: 'No new referrals can be made. Records already shared stay with the teams that hold them, as the law allows; they get nothing newer.' }));
  }
  if (!own) return out;
  const give = h('button', { type: 'button', class: 'btn', text: 'Record consent given' });
  const withdraw = h('button', { type: 'button', class: 'btn', text: 'Record consent withdrawn' });
  const save = (value) => async (ev) => {
    ev.currentTarget.disabled = true;
    const data = Object.assign({}, d, { consent_to_share: value, consent_recorded_at: new Date().toISOString() });
    delete data.id;
    await ctx.O.sync.mutate('client', 'upsert', rec.id, data);
    ctx.flash(value ? 'Consent to share recorded.' : 'Withdrawal of consent recorded.');
    ctx.go(location.hash.replace(/^#\//, ''));
    ctx.runSync('save');
  };
  give.addEventListener('click', save(true));
  withdraw.addEventListener('click', save(false));
  out.push(h('div', { class: 'actions' }, d.consent_to_share === true ? null : give, d.consent_to_share === true ? withdraw : null));
  return out;
}

function referralItem(ctx, r, ref, c) {
  const d = r.data;
  const into = incoming(r, ctx.profile);
  const other = into ? 'From ' + teamName(ref, d.team_id, ctx.profile) : 'To ' + teamName(ref, d.to_team_id, ctx.profile);
  const reason = d.closed_reason ? ' (' + labelOf((c.decline_reasons || []).concat(c.close_reasons || []), d.closed_reason) + ')' : '';
  return h('li', {}, h('div', { class: 'row' },
    h('span', { class: 'row-title' }, other, ' · ', h('strong', { text: labelOf(c.referral_statuses, d.status) + reason })),
    statusTag(r),
    h('span', { class: 'row-meta', text: labelOf(c.referral_reasons, d.reason) + ' · ' + labelOf(c.urgencies, d.urgency) }),
    h('ol', { class: 'steps', 'aria-label': 'Steps' }, steps(d).map(([name, at]) => h('li', { text: name + ': ' + fmtDateTime(at) }))),
    d.notes ? h('p', { class: 'row-meta', text: d.notes }) : null,
    into && d.status === 'sent' ? respondButtons(ctx, r) : closeButtons(ctx, r)));
}

function episodeItem(ctx, e, c) {
  const d = e.data;
  const open = !d.outcome;
  return h('li', {}, h('a', { class: 'row', href: '#/pathway/' + encodeURIComponent(d.client_id) + '?episode=' + encodeURIComponent(e.id) },
    h('span', { class: 'row-title' }, labelOf(c.episode_kinds, d.kind), ' · ', open ? 'Open' : labelOf(c.episode_outcomes, d.outcome)),
    ...episodeAlerts(d).map((a) => h('span', { class: 'tag tag-overdue', text: a })),
    statusTag(e),
    h('span', { class: 'row-meta', text: 'From ' + fmtDate(d.started_on) + (open ? ' to ' + fmtDate(d.planned_end_on) + ' (planned)' : ' to ' + fmtDate(d.ended_on)) + ' · ' + (d.sessions || []).length + ' sessions' })));
}
