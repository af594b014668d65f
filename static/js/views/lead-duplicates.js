/* Team lead: probable duplicates side by side; keep one record and merge the other into
   it (with a confirm step), or mark the pair as two different people. Network actions. */
import { h, fmtDate, fmtDateTime } from '../ui.js';
import { label } from '../data.js';
import {
  leadNav, heading, cached, staleNotice, remember, who, born, overviewForForms, online,
  statusRegion,
} from './lead-common.js';

const PER_PAGE = 50;

/* The pairs' clients with their last contact and key worker's name (from each history). */
function enricher(ctx) {
  return async (data) => {
    const ids = new Set();
    for (const p of data.items || []) { ids.add(p.client.id); ids.add(p.other_client.id); }
    const facts = new Map();
    await Promise.all([...ids].map(async (id) => {
      try {
        const body = await ctx.O.api.call('GET', '/api/v1/clients/' + id + '/history?per_page=1');
        facts.set(id, body.client);
      } catch (_) { /* merged or gone meanwhile: shown without */ }
    }));
    for (const p of data.items || []) {
      for (const c of [p.client, p.other_client]) {
        const f = facts.get(c.id);
        if (f) Object.assign(c, { last_contact_at: f.last_contact_at, key_worker_name: f.key_worker_name, known: true });
      }
    }
    return data;
  };
}

export async function render(ctx) {
  const res = await cached(ctx, 'duplicates', '/api/v1/caseload/duplicates?per_page=' + PER_PAGE, enricher(ctx));
  const overview = await overviewForForms(ctx);
  const names = new Map(((overview && overview.workers) || []).map((w) => [w.worker_id, w.name]));
  ctx.append(leadNav('duplicates'), heading('Probable duplicates'));
  if (res.stale) ctx.append(staleNotice(res, 'duplicates'));
  const data = res.data;
  if (!data) return;
  const items = data.items || [];
  const count = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'dup-count' });
  const setCount = (n) => { count.textContent = n ? n + (n === 1 ? ' pair to check.' : ' pairs to check.') : 'No probable duplicates to check.'; };
  let left = data.meta ? data.meta.total : items.length;
  setCount(left);
  const done = async (pairId) => {
    setCount(--left);
    const kept = await ctx.O.db.getMeta('lead:duplicates');
    if (kept && kept.data) {
      kept.data.items = kept.data.items.filter((p) => p.id !== pairId);
      if (kept.data.meta) kept.data.meta.total = left;
      await ctx.O.db.setMeta({ 'lead:duplicates': kept });
    }
    ctx.runSync('lead');
  };
  ctx.append(
    h('p', { text: 'The same person may have been recorded twice, often on two phones offline. Compare the records, keep one and merge the other into it, or mark them as different people.' }),
    h('h2', { text: 'Pairs to check' }),
    count,
    h('ul', { class: 'list cards', id: 'duplicates' }, items.map((p) => pairCard(ctx, p, names, done))),
    items.length < left ? h('p', { class: 'muted', text: 'Showing the first ' + items.length + '. Resolve these to see the rest.' }) : null,
  );
  await partnerSection(ctx);
}

/* The same person recorded by a partner team (an agreement in force): link the two
   records (each team keeps its own; reports count the person once) or say they are
   not the same person. Only the partner team's name and when it first recorded the
   person are shown, nothing more of its record. */
async function partnerSection(ctx) {
  const res = await cached(ctx, 'partner-duplicates', '/api/v1/pathways/duplicates?per_page=' + PER_PAGE);
  const items = (res.data && res.data.items) || [];
  const list = h('ul', { class: 'list cards', id: 'partner-duplicates' }, items.map((d) => partnerCard(ctx, d)));
  ctx.append(
    h('h2', { id: 'partner-dup-h', text: 'Same person in a partner team' }),
    h('p', { text: 'A client of your team may be a person a partner team also records. Records are never merged across teams: link them so the person is counted once, or say they are different people.' }),
    items.length ? list : h('p', { class: 'muted', id: 'partner-dup-none', text: 'No possible matches with partner teams.' }),
  );
}

function partnerCard(ctx, d) {
  const key = d.client_id + '-' + d.other_client_id;
  const titleId = 'partner-' + key;
  const status = statusRegion('partner-status-' + key);
  const link = h('button', { type: 'button', class: 'btn btn-primary', text: 'Same person: link' });
  const apart = h('button', { type: 'button', class: 'btn', text: 'Not the same person' });
  const card = h('li', { class: 'card', 'aria-labelledby': titleId },
    h('h3', { id: titleId, class: 'card-title', text: who(d) + ' and a client of ' + d.other_team }),
    h('p', { class: 'row-meta', text: 'Your team first recorded ' + who(d) + ' on ' + fmtDate(d.first_recorded_at) + '; ' + d.other_team + ' on ' + fmtDate(d.other_first_recorded_at) + '.' }),
    h('div', { class: 'actions' }, link, apart), status);
  const answer = (resolution, verb, text) => async () => {
    link.disabled = apart.disabled = true;
    const out = await online(ctx, verb, status, (api) => api.call('POST', '/api/v1/pathways/duplicates', { client_id: d.client_id, other_client_id: d.other_client_id, resolution }));
    link.disabled = apart.disabled = false;
    if (!out) { status.focus(); return; }
    card.replaceChildren(h('h3', { class: 'card-title', id: titleId, tabindex: '-1', text }));
    card.firstChild.focus();
    const kept = await ctx.O.db.getMeta('lead:partner-duplicates');
    if (kept && kept.data) {
      kept.data.items = kept.data.items.filter((x) => x.client_id !== d.client_id || x.other_client_id !== d.other_client_id);
      await ctx.O.db.setMeta({ 'lead:partner-duplicates': kept });
    }
  };
  link.addEventListener('click', answer('linked', 'Linking', 'Linked: ' + who(d) + ' is the same person as the client of ' + d.other_team + '.'));
  apart.addEventListener('click', answer('not_duplicate', 'Saving', 'Kept apart: ' + who(d) + ' is not the client of ' + d.other_team + '.'));
  return card;
}

function pairCard(ctx, p, names, done) {
  const A = p.client;
  const B = p.other_client;
  remember([A, B]);
  const worker = (c) => c.key_worker_name || names.get(c.key_worker_id) || (c.key_worker_id ? 'Worker ' + c.key_worker_id : 'None');
  const last = (c) => (c.last_contact_at ? fmtDateTime(c.last_contact_at) : c.known ? 'Never' : 'Not known');
  const rows = [
    ['Initials', (c) => c.initials || '—'],
    ['Date of birth', (c) => fmtDate(c.date_of_birth) || '—'],
    ['Known as', (c) => c.known_as || '—'],
    ['Sex', (c) => label(ctx.codes.sexes, c.sex) || '—'],
    ['Postcode district', (c) => c.postcode_district || '—'],
    ['Key worker', worker],
    ['Last contact', last],
    ['First recorded', (c) => fmtDateTime(c.created_at) || '—'],
  ];
  const titleId = 'pair-' + p.id;
  const table = h('table', { class: 'changes pair' },
    h('caption', { class: 'visually-hidden', text: 'Record A and record B compared' }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Detail' }), h('th', { scope: 'col', text: 'Record A' }), h('th', { scope: 'col', text: 'Record B' }))),
    h('tbody', {}, rows.map(([name, f]) => h('tr', {}, h('th', { scope: 'row', text: name }), h('td', { text: f(A) }), h('td', { text: f(B) })))));
  const radio = (c, letter) => {
    const id = 'keep-' + p.id + '-' + letter;
    return h('label', { class: 'check', for: id }, h('input', { type: 'radio', name: 'keep-' + p.id, id, value: c.id }),
      'Keep record ' + letter + ' (' + who(c) + ', ' + born(c) + ')');
  };
  const err = h('p', { class: 'error', id: 'keep-err-' + p.id, hidden: true });
  const fieldset = h('fieldset', {}, h('legend', { text: 'Which record should be kept?' }), err, radio(A, 'A'), radio(B, 'B'));
  const status = statusRegion('dup-status-' + p.id);
  const merge = h('button', { type: 'button', class: 'btn btn-primary', text: 'Merge' });
  const dismiss = h('button', { type: 'button', class: 'btn', text: 'Not the same person' });
  const confirmBox = h('div', { class: 'warning', hidden: true, tabindex: '-1' });
  const card = h('li', { class: 'card', 'aria-labelledby': titleId },
    h('h3', { id: titleId, class: 'card-title', text: 'Possible duplicate: ' + who(A) + ' and ' + who(B) }),
    h('p', { class: 'row-meta', text: 'Found ' + fmtDateTime(p.detected_at) }),
    table, fieldset, h('div', { class: 'actions' }, merge, dismiss), confirmBox, status);

  const finish = (text) => {
    card.replaceChildren(h('h3', { class: 'card-title', id: titleId, tabindex: '-1', text }));
    card.firstChild.focus();
    done(p.id);
  };

  merge.addEventListener('click', () => {
    const chosen = fieldset.querySelector('input:checked');
    if (!chosen) {
      err.hidden = false;
      err.textContent = 'Choose the record to keep';
      fieldset.querySelector('input').focus();
      return;
    }
    err.hidden = true;
    const keep = chosen.value === A.id ? A : B;
    const gone = keep === A ? B : A;
    const [kl, gl] = keep === A ? ['A', 'B'] : ['B', 'A'];
    const yes = h('button', { type: 'button', class: 'btn btn-danger', text: 'Yes, merge' });
    const no = h('button', { type: 'button', class: 'btn', text: 'Cancel' });
    confirmBox.replaceChildren(
      h('p', { text: 'Merge record ' + gl + ' (' + who(gone) + ') into record ' + kl + ' (' + who(keep) + ')? Its interventions, follow-ups, referrals and diversion episodes move to record ' + kl + ' (a partner team holding it gets record ' + kl + ' instead), and record ' + gl + ' is removed from every phone. This cannot be undone.' }),
      h('div', { class: 'actions' }, yes, no));
    confirmBox.hidden = false;
    confirmBox.focus();
    no.addEventListener('click', () => { confirmBox.hidden = true; merge.focus(); });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      const out = await online(ctx, 'Merging', status, (api) => api.call('POST', '/api/v1/clients/' + keep.id + '/merge', { other_client_id: gone.id }));
      yes.disabled = false;
      if (!out) { status.focus(); return; }
      finish('Merged: kept ' + who(keep) + ' (' + born(keep) + '). ' + out.interventions_moved + ' interventions and ' + out.follow_ups_moved + ' follow-ups moved.');
    });
  });
  dismiss.addEventListener('click', async () => {
    dismiss.disabled = true;
    const out = await online(ctx, 'Marking them as different people', status, (api) => api.call('POST', '/api/v1/caseload/duplicates/' + p.id + '/dismiss'));
    dismiss.disabled = false;
    if (!out) { status.focus(); return; }
    finish('Kept apart: ' + who(A) + ' and ' + who(B) + ' are different people.');
  });
  return card;
}
