/* Add or edit a client: the server's validation, and a warning for a likely duplicate. */
import { h, field, dateField, select, errorSummary, clientName, fmtDate, keepDraft, draftNotice, onSubmitOnce } from '../ui.js';
import { normaliseClient, validateClient } from '../validate.js';
import { problemBlock } from './problems.js';
import { caseIndex } from '../data.js';
import { consentField, consentValues } from './pathway-data.js';

export async function render(ctx, [id]) {
  const { db, sync } = ctx.O;
  const existing = id ? await db.record('client', id) : null;
  const d = (existing && existing.data) || {};
  const sexes = ctx.codes.sexes || [];
  const f = {
    initials: field('Initials', h('input', { name: 'initials', autocomplete: 'off', autocapitalize: 'characters', maxlength: '3', value: d.initials || '', spellcheck: 'false' }), '2 or 3 letters, first and last name'),
    date_of_birth: dateField('Date of birth', d.date_of_birth, 'dob', 'For example, 27 3 1985'),
    sex: field('Sex', select([{ value: '', label: 'Select' }, ...sexes.map((s) => ({ value: s.code, label: s.label }))], d.sex || '', { name: 'sex' })),
    postcode_district: field('Postcode district', h('input', { name: 'postcode_district', autocomplete: 'off', autocapitalize: 'characters', maxlength: '5', value: d.postcode_district || '' }), 'First half of the postcode only, like DH1'),
    known_as: field('Known-as name (optional)', h('input', { name: 'known_as', autocomplete: 'off', maxlength: '40', value: d.known_as || '' })),
  };
  const consent = consentField(d, field, select);
  const status = h('div');
  const warn = h('div', { 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Save' });
  const form = h('form', { novalidate: true }, status, ...Object.values(f).map((x) => x.wrap), consent.wrap, warn, h('div', { class: 'sticky-save' }, save));
  ctx.append(
    h('h1', { tabindex: '-1', text: existing ? 'Edit client ' + clientName(d) : 'Add client' }),
    existing ? problemBlock(ctx, existing) : null,
    form,
  );
  let confirmedDuplicate = null;
  const draft = await keepDraft(form, 'client:' + (id || 'new'));
  if (draft.restored) {
    form.before(draftNotice(async (box) => { await draft.clear(); box.remove(); ctx.go(location.hash.replace(/^#\//, '')); }));
  }

  // The new client's id belongs to this form (its draft), not to the tap or the Enter.
  const newId = id || draft.id;
  let warnedAt = 0;
  onSubmitOnce(form, async () => {
    const values = normaliseClient(Object.fromEntries(Object.keys(f).map((k) => [k, f[k].value ? f[k].value() : f[k].input.value])));
    const errors = validateClient(values, sexes);
    for (const k of Object.keys(f)) f[k].setError(errors[k]);
    if (Object.keys(errors).length) {
      const box = errorSummary(Object.entries(errors).map(([k, msg]) => ({ msg, target: f[k].input.id })));
      status.replaceChildren(box);
      box.focus();
      return false;
    }
    status.replaceChildren();
    // Candidates from the caseload index (initials and date of birth), then read by key.
    const index = await caseIndex();
    const dupes = (await db.byKeys(index.clientKeysLike(values.initials, values.date_of_birth))).filter((c) => c && c.id !== newId && !c.deleted &&
      c.data.initials === values.initials && c.data.date_of_birth === values.date_of_birth && c.data.sex === values.sex);
    const sig = values.initials + values.date_of_birth + values.sex;
    // A second press confirms the warning, but not one that lands with the first (a
    // double Enter or a ghost touch): the worker has had no time to read it.
    if (dupes.length && (confirmedDuplicate !== sig || Date.now() - warnedAt < 700)) {
      if (confirmedDuplicate !== sig) warnedAt = Date.now();
      confirmedDuplicate = sig;
      const box = h('div', { class: 'warning', role: 'alert', tabindex: '-1' },
        h('h2', { text: 'This client may already exist' }),
        h('p', { text: 'A client with the same initials, date of birth and sex is already on this phone:' }),
        h('ul', {}, dupes.map((c) => h('li', {}, h('a', { href: '#/client/' + encodeURIComponent(c.id), text: clientName(c.data) + ', born ' + fmtDate(c.data.date_of_birth) })))),
        h('p', { text: 'Open that client instead, or press Save again to add a new client anyway.' }));
      warn.replaceChildren(box);
      box.focus();
      return false;
    }
    const data = Object.assign({}, d, values, consentValues(consent, d));
    delete data.id;
    await sync.mutate('client', 'upsert', newId, data);
    await draft.clear();
    ctx.flash(id ? 'Client updated.' : 'Client added.');
    ctx.go('client/' + encodeURIComponent(newId));
    ctx.runSync('save');
    return true;
  });
}
