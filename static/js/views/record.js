/* Record (or edit) an intervention. Fast for the common case: the client is preselected
   from their page, type and location default to the worker's last ones, time to now. */
import { h, field, select, errorSummary, localDateTime, isoWithOffset, keepDraft, draftNotice, onSubmitOnce } from '../ui.js';
import { validateIntervention } from '../validate.js';
import { caseIndex, editable } from '../data.js';
import { clientPicker } from './client-picker.js';
import { problemBlock } from './problems.js';

const OUTCOME_LABELS = {
  hcv_negative: 'Hepatitis C negative', hcv_positive: 'Hepatitis C positive',
  hiv_negative: 'HIV negative', hiv_positive: 'HIV positive',
  hbv_negative: 'Hepatitis B negative', hbv_positive: 'Hepatitis B positive',
  declined: 'Declined', result_pending: 'Result pending',
};
const FIELD_INPUT = { client_id: 'client', occurred_at: 'occurred_at', follow_up_on: 'follow_up_on' };

export async function render(ctx, [id], query) {
  const { db, sync, api } = ctx.O;
  const codes = ctx.codes;
  const types = codes.intervention_types || [];
  const index = await caseIndex();
  const existing = id ? await db.record('intervention', id) : null;
  if (id && (!existing || existing.deleted)) {
    ctx.append(h('h1', { tabindex: '-1', text: 'Record not found' }), h('a', { class: 'btn', href: '#/caseload', text: 'Back to caseload' }));
    return;
  }
  const canEdit = !existing || editable(existing, ctx.profile) || existing.status === 'rejected';
  const d = existing ? existing.data : {};
  const lastUsed = (await db.getMeta('last_used')) || {};
  const preClient = existing ? d.client_id || '' : query.get('client') || '';

  const anon = h('input', { type: 'checkbox', id: 'anonymous', name: 'anonymous', checked: !!existing && !d.client_id });
  const client = clientPicker(index, preClient);
  const anonWrap = h('div', { class: 'field' }, h('label', { class: 'check', for: 'anonymous' }, anon, 'Anonymous contact'));
  const type = field('Type', select([{ value: '', label: 'Select the type' }, ...types.map((t) => ({ value: t.code, label: t.label }))], d.type || (existing ? '' : query.get('type') || lastUsed.type || ''), { name: 'type' }));
  const when = field('Date and time', h('input', { type: 'datetime-local', id: 'occurred_at', name: 'occurred_at', value: d.occurred_at ? localDateTime(new Date(d.occurred_at)) : localDateTime(new Date()) }));
  const location = field('Location', select([{ value: '', label: 'Select the location' }, ...(codes.locations || []).map((l) => ({ value: l.code, label: l.label }))], d.location || lastUsed.location || '', { name: 'location' }));
  const chosen = new Set(d.substances || []);
  const subBoxes = (codes.substances || []).map((s) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'substances', value: s.code, checked: chosen.has(s.code) }), s.label));
  const subErr = h('p', { class: 'error', id: 'substances-err', hidden: true });
  const substances = h('fieldset', { id: 'substances' }, h('legend', { text: 'Substances' }), h('div', { class: 'checks' }, subBoxes), subErr);
  const quantity = field('Quantity', h('input', { type: 'number', name: 'quantity', inputmode: 'numeric', min: '1', step: '1', value: d.quantity ?? '' }), ' ');
  const outcomeSlot = h('div');
  let outcome = null;
  const referral = field('Referred to', h('input', { name: 'referral_to', autocomplete: 'off', maxlength: '200', value: d.referral_to || '' }), 'Service or team, e.g. housing, GP');
  const followUp = field('Follow-up date', h('input', { type: 'date', id: 'follow_up_on', name: 'follow_up_on', value: d.follow_up_on || '' }), 'Optional. Within two years.');
  const notes = field('Notes', h('textarea', { name: 'notes', maxlength: '2000', rows: '4' }), 'No names or addresses. Up to 2,000 characters.');
  notes.input.value = d.notes || '';

  const status = h('div');
  const save = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Save' });
  const form = h('form', { novalidate: true, 'aria-labelledby': 'record-title' }, status,
    client.wrap, anonWrap, type.wrap, quantity.wrap, when.wrap, location.wrap, substances, outcomeSlot,
    referral.wrap, followUp.wrap, notes.wrap, h('div', { class: 'sticky-save' }, save));
  const fields = { client_id: client, type, occurred_at: when, location, quantity, referral_to: referral, follow_up_on: followUp, notes };

  function syncTypeFields() {
    const t = types.find((x) => x.code === type.input.value);
    quantity.wrap.hidden = !(t && t.quantity_label);
    if (t && t.quantity_label) {
      quantity.wrap.querySelector('.hint').textContent = 'Number of ' + t.quantity_label.toLowerCase();
      if (t.quantity_max) quantity.input.max = String(t.quantity_max);
      if (!quantity.input.value) quantity.input.value = '1';
    }
    referral.wrap.hidden = !(t && t.referral);
    const prev = outcome ? outcome.input.value : d.outcome || '';
    outcome = t && t.outcome_choices && t.outcome_choices.length
      ? field('Outcome', select([{ value: '', label: 'Select the outcome' }, ...t.outcome_choices.map((c) => ({ value: c, label: OUTCOME_LABELS[c] || c }))], t.outcome_choices.includes(prev) ? prev : '', { name: 'outcome' }))
      : field('Outcome', h('input', { name: 'outcome', autocomplete: 'off', maxlength: '200', value: prev }), 'Optional');
    fields.outcome = outcome;
    outcomeSlot.replaceChildren(outcome.wrap);
  }
  function syncAnon() {
    client.disable(anon.checked);
  }
  type.input.addEventListener('change', syncTypeFields);
  anon.addEventListener('change', syncAnon);
  syncTypeFields();
  syncAnon();

  const title = existing ? 'Edit intervention' : 'Record intervention';
  ctx.append(h('h1', { id: 'record-title', tabindex: '-1', text: title }), existing ? problemBlock(ctx, existing) : null);
  if (!canEdit) {
    ctx.append(h('p', { class: 'info', text: 'Only your own records from the last 7 days can be changed here.' }));
    form.querySelectorAll('input, select, textarea, button').forEach((el) => { el.disabled = true; });
  }
  ctx.append(form);
  const draftKey = 'intervention:' + (id || 'new:' + (query.get('client') || ''));
  const draft = canEdit ? await keepDraft(form, draftKey, () => { syncTypeFields(); client.set(form.elements.client_id.value); syncAnon(); }) : null;
  if (draft && draft.restored) {
    form.before(draftNotice(async (box) => { await draft.clear(); box.remove(); ctx.go(location.hash.replace(/^#\//, '')); }));
  }
  if (existing && canEdit) ctx.append(deleteBlock(ctx, existing, draft));
  if (existing && existing.status === 'rejected') showErrors(existing.errors || {}, false);

  function showErrors(errors, focus) {
    for (const [k, f] of Object.entries(fields)) f.setError(errors[k] ? [].concat(errors[k]).join(' ') : null);
    subErr.hidden = !errors.substances;
    subErr.textContent = errors.substances ? [].concat(errors.substances).join(' ') : '';
    const items = Object.entries(errors).map(([k, msg]) => ({ msg: [].concat(msg).join(' '), target: fields[k] ? fields[k].input.id : k === 'substances' ? 'substances' : null }));
    if (!items.length) { status.replaceChildren(); return; }
    const box = errorSummary(items);
    status.replaceChildren(box);
    if (focus) box.focus();
  }

  // The record's id belongs to this form (its draft), not to the tap: however many taps
  // or Enters reach Save, one record is written.
  const recId = id || (draft ? draft.id : api.uuid());
  onSubmitOnce(form, async () => {
    const t = types.find((x) => x.code === type.input.value);
    const qRaw = quantity.input.value.trim();
    const v = {
      anonymous: anon.checked,
      client_id: anon.checked ? null : client.value() || null,
      type: type.input.value,
      occurred_at: isoWithOffset(when.input.value),
      location: location.input.value,
      substances: subBoxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
      quantity: t && t.quantity_label ? (qRaw === '' ? null : Number(qRaw)) : null,
      outcome: outcome.input.value.trim() || null,
      referral_to: t && t.referral ? referral.input.value.trim() || null : null,
      follow_up_on: followUp.input.value || null,
      notes: notes.input.value.trim() || null,
    };
    const errors = validateIntervention(v, codes);
    if (Object.keys(errors).length) { showErrors(errors, true); return false; }
    showErrors({}, false);
    const data = Object.assign({}, existing ? existing.data : {}, v);
    delete data.anonymous;
    if (!data.client_id) delete data.client_id;
    await sync.mutate('intervention', 'upsert', recId, data);
    // How often this worker records each type: the client screen offers the most used.
    const uses = Object.assign({}, lastUsed.uses || {});
    if (!existing) uses[v.type] = (uses[v.type] || 0) + 1;
    await Promise.all([db.setMeta({ last_used: { type: v.type, location: v.location, uses } }), draft ? draft.clear() : null]);
    ctx.flash(existing ? 'Intervention updated.' : 'Intervention saved.');
    ctx.go(v.client_id ? 'client/' + encodeURIComponent(v.client_id) : 'caseload');
    ctx.runSync('save');
    return true;
  });
}

function deleteBlock(ctx, rec, draft) {
  const { sync } = ctx.O;
  const ask = h('button', { type: 'button', class: 'btn btn-danger btn-block', text: 'Delete this record' });
  const confirmBox = h('div', { class: 'warning', hidden: true, role: 'alert' },
    h('p', { text: 'Delete this intervention? This cannot be undone on the phone.' }));
  const yes = h('button', { type: 'button', class: 'btn btn-danger', text: 'Yes, delete' });
  const no = h('button', { type: 'button', class: 'btn', text: 'Cancel' });
  confirmBox.append(h('div', { class: 'actions' }, yes, no));
  ask.addEventListener('click', () => { confirmBox.hidden = false; ask.hidden = true; no.focus(); });
  no.addEventListener('click', () => { confirmBox.hidden = true; ask.hidden = false; ask.focus(); });
  yes.addEventListener('click', async () => {
    await sync.mutate('intervention', 'delete', rec.id, rec.data);
    if (draft) await draft.clear();
    ctx.flash('Intervention deleted.');
    ctx.go(rec.data.client_id ? 'client/' + encodeURIComponent(rec.data.client_id) : 'caseload');
    ctx.runSync('save');
  });
  return h('div', {}, h('h2', { text: 'Delete' }), ask, confirmBox);
}
