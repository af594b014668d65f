/* Choosing a client on the intervention form: type initials or a known-as name and
   pick from the matches (from the caseload index: no drop-down of every client). The
   chosen id is in a hidden `client_id` input (kept with the draft). Shaped like
   ui.field(): {wrap, input, setError}, plus value(), set(id) and disable(on). */
import { h, field, fmtDate, clientName } from '../ui.js';

const SHOWN = 8;

export function clientPicker(index, id) {
  const hidden = h('input', { type: 'hidden', name: 'client_id' });
  const input = h('input', { type: 'search', id: 'client', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', 'aria-controls': 'client-matches' });
  const f = field('Client', input, 'Type initials or a known-as name, then choose');
  const found = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const matches = h('ul', { class: 'list', id: 'client-matches', 'aria-label': 'Matches' });
  f.wrap.append(hidden, found, matches);

  const born = (c) => (c.date_of_birth ? ' · born ' + fmtDate(c.date_of_birth) : '');

  function set(cid, focus) {
    hidden.value = cid || '';
    const c = cid ? index.client(cid) : null;
    input.value = cid ? (c ? clientName(c) + born(c) : 'A client no longer in your caseload') : '';
    matches.replaceChildren();
    found.textContent = '';
    hidden.dispatchEvent(new Event('change', { bubbles: true })); // the draft keeps it
    if (focus) input.focus();
  }

  function search() {
    if (hidden.value) { hidden.value = ''; hidden.dispatchEvent(new Event('change', { bubbles: true })); }
    const q = input.value.trim();
    if (!q) { matches.replaceChildren(); found.textContent = ''; return; }
    const rows = index.rows(q);
    found.textContent = rows.length ? (rows.length > SHOWN ? rows.length.toLocaleString('en-GB') + ' found: the first ' + SHOWN + ' shown, type more to narrow' : rows.length + (rows.length === 1 ? ' client found' : ' clients found')) : 'No client found';
    matches.replaceChildren(...rows.slice(0, SHOWN).map((r) => h('li', {}, h('button', {
      type: 'button', class: 'row row-button', onclick: () => set(r.id, true),
    }, h('span', { class: 'row-title', text: clientName(r) }), h('span', { class: 'row-meta', text: 'Born ' + fmtDate(r.date_of_birth) + (r.postcode_district ? ' · ' + r.postcode_district : '') })))));
  }
  input.addEventListener('input', search);
  set(id);

  return {
    wrap: f.wrap, input, setError: f.setError,
    value: () => hidden.value,
    set: (cid) => set(cid),
    /* Anonymous contact: no client. */
    disable(on) {
      input.disabled = on;
      if (on) set('');
    },
  };
}
