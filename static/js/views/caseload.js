/* The team's clients: search by initials or known-as name; last contact; follow-ups. */
import { h, field, fmtDate, fmtDateTime, clientName, statusTag } from '../ui.js';
import { loadAll, caseload } from '../data.js';

export const live = true;
let lastQuery = '';

export async function render(ctx) {
  const all = await loadAll();
  const rows = caseload(all);
  const search = field('Search clients', h('input', { type: 'search', autocomplete: 'off', autocapitalize: 'characters', value: lastQuery }), 'Initials or known-as name');
  const list = h('ul', { class: 'list', id: 'client-list' });
  const count = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });

  function draw() {
    const q = search.input.value.trim().toLowerCase();
    lastQuery = search.input.value;
    const shown = rows.filter((r) => !q || (r.rec.data.initials || '').toLowerCase().includes(q) || (r.rec.data.known_as || '').toLowerCase().includes(q));
    list.replaceChildren(...shown.map(row));
    count.textContent = shown.length === rows.length ? rows.length + (rows.length === 1 ? ' client' : ' clients') : shown.length + ' of ' + rows.length + ' clients';
  }
  search.input.addEventListener('input', draw);

  ctx.append(
    h('h1', { tabindex: '-1', text: 'Caseload' }),
    ctx.notice ? h('p', { class: 'info', role: 'status', text: ctx.notice }) : null,
    h('div', { class: 'actions' },
      h('a', { class: 'btn btn-primary', href: '#/record', text: 'Record intervention' }),
      h('a', { class: 'btn', href: '#/client-form', text: 'Add client' })),
    search.wrap, count, list,
  );
  draw();
}

function row(r) {
  const d = r.rec.data;
  const tags = [];
  if (r.followUpState === 'overdue') tags.push(h('span', { class: 'tag tag-overdue', text: 'Follow-up overdue' }));
  else if (r.followUpState === 'due') tags.push(h('span', { class: 'tag tag-due', text: 'Follow-up due today' }));
  const st = statusTag(r.rec);
  if (st) tags.push(st);
  const meta = [r.lastContact ? 'Last contact ' + fmtDateTime(r.lastContact) : 'No contact yet'];
  if (r.followUp && r.followUpState === 'upcoming') meta.push('Follow-up ' + fmtDate(r.followUp));
  return h('li', {}, h('a', { class: 'row', href: '#/client/' + encodeURIComponent(r.rec.id) },
    h('span', { class: 'row-title', text: clientName(d) }), ...tags,
    h('span', { class: 'row-meta', text: meta.join(' · ') }),
    h('span', { class: 'row-meta', text: 'Born ' + fmtDate(d.date_of_birth) + (d.postcode_district ? ' · ' + d.postcode_district : '') })));
}
