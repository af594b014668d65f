/* The forms of a client's pathway: refer to a partner team, open or update a diversion
   episode (record a session, close it with its outcome). Saved on the phone and synced
   like every record; the server checks the same rules again. */
import { h, field, select, errorSummary, clientName, today, onSubmitOnce } from '../ui.js';
import { codes, referBlocked, addMonths, labelOf } from './pathway-data.js';

const opts = (list, blank) => [...(blank ? [{ value: '', label: blank }] : []), ...(list || []).map((x) => ({ value: String(x.code ?? x.id), label: x.label ?? x.name }))];

export async function render(ctx, rec, all, ref, query) {
  const back = h('p', {}, h('a', { href: '#/pathway/' + encodeURIComponent(rec.id), text: 'Back to pathway' }));
  if (query.get('do') === 'refer') return referForm(ctx, rec, ref, back);
  const episode = query.get('episode') ? all.episodes.find((e) => e.id === query.get('episode')) : null;
  return episodeForm(ctx, rec, ref, episode, back);
}

function showErrors(status, fields, errors) {
  for (const [k, f] of Object.entries(fields)) f.setError(errors[k]);
  const box = errorSummary(Object.entries(errors).map(([k, msg]) => ({ msg, target: fields[k] ? fields[k].input.id : null })));
  status.replaceChildren(box);
  box.focus();
}

function referForm(ctx, rec, ref, back) {
  const c = codes();
  ctx.append(h('h1', { tabindex: '-1', text: 'Refer ' + clientName(rec.data) }), back);
  const blocked = referBlocked(rec, ref);
  if (blocked) {
    ctx.append(h('p', { class: 'warning', role: 'alert', text: blocked }));
    return;
  }
  const f = {
    to_team_id: field('Partner team', select(opts(ref.partners, 'Select'), '', { name: 'to_team_id' })),
    reason: field('Reason', select(opts(c.referral_reasons, 'Select'), '', { name: 'reason' })),
    urgency: field('Urgency', select(opts(c.urgencies), 'routine', { name: 'urgency' })),
    notes: field('Notes (optional)', h('textarea', { name: 'notes', rows: 3, maxlength: '2000' }), 'No names or addresses'),
  };
  const status = h('div');
  const form = h('form', { novalidate: true }, status, ...Object.values(f).map((x) => x.wrap),
    h('div', { class: 'sticky-save' }, h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Send referral' })));
  ctx.append(form);
  onSubmitOnce(form, async () => {
    const errors = {};
    if (!f.to_team_id.input.value) errors.to_team_id = 'Choose the team to refer to.';
    if (!f.reason.input.value) errors.reason = 'Choose the reason for the referral.';
    if (Object.keys(errors).length) { showErrors(status, f, errors); return false; }
    const data = {
      client_id: rec.id,
      to_team_id: Number(f.to_team_id.input.value),
      reason: f.reason.input.value,
      urgency: f.urgency.input.value,
      notes: f.notes.input.value.trim() || null,
      status: 'sent',
      status_at: new Date().toISOString(),
    };
    await ctx.O.sync.mutate('referral', 'upsert', ctx.O.api.uuid(), data);
    ctx.flash('Referral saved. It is sent at the next sync.');
    ctx.go('pathway/' + encodeURIComponent(rec.id));
    ctx.runSync('save');
    return true;
  });
}

function episodeForm(ctx, rec, ref, episode, back) {
  const c = codes();
  const d = episode ? episode.data : {};
  const closing = !!episode;
  const start = d.started_on || today();
  const workers = (ref.workers || []).map((w) => ({ code: w.id, label: w.name }));
  const f = {
    kind: field('Scheme', select(opts(c.episode_kinds), d.kind || 'checkpoint', { name: 'kind' })),
    started_on: field('Start date', h('input', { name: 'started_on', type: 'date', value: start })),
    planned_end_on: field('Planned end', h('input', { name: 'planned_end_on', type: 'date', value: d.planned_end_on || addMonths(start, c.episode_months || 4) }), 'Checkpoint: four months from the start'),
    conditions: field('Conditions (one a line)', h('textarea', { name: 'conditions', rows: 3, text: (d.conditions || []).join('\n') })),
    navigator_id: field('Navigator', select(opts(workers, 'None'), d.navigator_id != null ? String(d.navigator_id) : String(ctx.profile.id), { name: 'navigator_id' })),
    next_session_on: field('Next session (optional)', h('input', { name: 'next_session_on', type: 'date', value: d.next_session_on || '' })),
  };
  if (closing) {
    f.outcome = field('Outcome', select(opts(c.episode_outcomes, 'Still open'), d.outcome || '', { name: 'outcome' }));
    f.ended_on = field('Ended on', h('input', { name: 'ended_on', type: 'date', value: d.ended_on || '' }), 'With an outcome');
  }
  const sessions = (d.sessions || []).slice();
  const status = h('div');
  const attended = h('button', { type: 'button', class: 'btn', text: 'Record a session attended today' });
  const count = h('p', { id: 'sessions', text: 'Sessions attended: ' + sessions.length });
  attended.addEventListener('click', () => {
    if (!sessions.includes(today())) sessions.push(today());
    count.textContent = 'Sessions attended: ' + sessions.length + ' (save to keep)';
  });
  const form = h('form', { novalidate: true }, status, ...Object.values(f).map((x) => x.wrap),
    closing ? h('div', {}, count, h('div', { class: 'actions' }, attended)) : null,
    h('div', { class: 'sticky-save' }, h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: closing ? 'Save episode' : 'Open episode' })));
  ctx.append(h('h1', { tabindex: '-1', text: (closing ? labelOf(c.episode_kinds, d.kind) + ' episode of ' : 'Diversion episode for ') + clientName(rec.data) }), back, form);
  onSubmitOnce(form, async () => {
    const v = Object.fromEntries(Object.entries(f).map(([k, x]) => [k, x.input.value.trim()]));
    const errors = {};
    if (!v.started_on) errors.started_on = 'Enter the start date.';
    if (v.planned_end_on && v.started_on && v.planned_end_on < v.started_on) errors.planned_end_on = 'The planned end must be on or after the start.';
    if (v.outcome && !v.ended_on) errors.ended_on = 'Enter when the episode ended.';
    if (v.ended_on && !v.outcome) errors.outcome = 'Enter how the episode ended.';
    if (Object.keys(errors).length) { showErrors(status, f, errors); return false; }
    const data = Object.assign({}, d, {
      client_id: rec.id,
      kind: v.kind,
      started_on: v.started_on,
      planned_end_on: v.planned_end_on || null,
      conditions: v.conditions ? v.conditions.split('\n').map((s) => s.trim()).filter(Boolean) : [],
      navigator_id: v.navigator_id ? Number(v.navigator_id) : null,
      next_session_on: v.next_session_on || null,
      sessions,
      outcome: v.outcome || null,
      ended_on: v.ended_on || null,
    });
    await ctx.O.sync.mutate('episode', 'upsert', episode ? episode.id : ctx.O.api.uuid(), data);
    ctx.flash(closing ? 'Episode saved.' : 'Diversion episode opened.');
    ctx.go('pathway/' + encodeURIComponent(rec.id));
    ctx.runSync('save');
    return true;
  });
}
