/* The team's clients: search by initials or known-as name; last contact; follow-ups.
   Reads the in-memory caseload index (never the whole store) and draws one page of
   rows at a time, so a 5,000-client team is 50 list items. The list follows the index
   as records land: usable during the first sync, with its progress shown. */
import { h, field, fmtDate, fmtDateTime, clientName, statusTag, untilReleased } from '../ui.js';
import { caseIndex } from '../data.js';

export const live = false; // it redraws itself as the index changes
export const PAGE = 50;
let lastQuery = '';
let lastPage = 0;
const NUMBER = new Intl.NumberFormat('en-GB');
const n = (x) => NUMBER.format(x);

export async function render(ctx) {
  const index = await caseIndex();
  // Worked out in steps (a big team's caseload is 25,000 entries), not in the draw's task;
  // a change meanwhile (this screen is not following yet) draws again once it is placed.
  const seen = index.version;
  const first = await index.deriveInSteps();
  const search = field('Search clients', h('input', { type: 'search', autocomplete: 'off', autocapitalize: 'characters', value: lastQuery }), 'Initials or known-as name');
  const list = h('ul', { class: 'list', id: 'client-list' });
  const count = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', tabindex: '-1' });
  const progress = h('p', { class: 'info', role: 'status', hidden: true });
  const prev = h('button', { type: 'button', class: 'btn', text: 'Previous ' + PAGE });
  const next = h('button', { type: 'button', class: 'btn', text: 'Next ' + PAGE });
  const range = h('p', { class: 'muted' });
  const pager = h('div', {}, range, h('div', { class: 'actions' }, prev, next));
  let page = lastPage;

  function draw(derived) {
    lastQuery = search.input.value;
    const rows = index.rows(lastQuery, derived);
    const total = index.total(derived);
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    page = lastPage = Math.min(page, pages - 1);
    const from = page * PAGE;
    list.replaceChildren(...rows.slice(from, from + PAGE).map(row));
    const text = rows.length === total ? n(total) + (total === 1 ? ' client' : ' clients') : n(rows.length) + ' of ' + n(total) + ' clients';
    if (count.textContent !== text) count.textContent = text;
    range.textContent = 'Showing ' + n(from + 1) + ' to ' + n(Math.min(from + PAGE, rows.length)) + ' of ' + n(rows.length);
    pager.hidden = pages < 2;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }
  const turn = (by) => { page += by; draw(); count.focus(); };
  prev.addEventListener('click', () => turn(-1));
  next.addEventListener('click', () => turn(1));
  search.input.addEventListener('input', () => { page = 0; draw(); });

  // Records land a page at a time during a sync: draw at most every 700 ms meanwhile;
  // while a first sync's pages land, at most a twentieth of the time (a big team's list
  // takes longer to work out), and at once when the last one is in.
  let drawnAt = 0;
  let took = 0;
  let landing = false;
  const gap = () => (landing ? Math.min(3000, Math.max(700, 20 * took)) : 700);
  // The list is worked out a step per task (deriveInSteps), then drawn in a frame; a
  // change while it is worked out draws again after (the list drawn is of before it).
  let queued = null; // a draw waiting for its time
  let working = false; // a draw being worked out
  let again = false;
  let shown = first;
  const redraw = () => {
    if (working) { again = true; return; }
    if (queued) return;
    queued = setTimeout(async () => {
      queued = null;
      if (gone()) return;
      working = true;
      again = false;
      const derived = await index.deriveInSteps().catch(() => undefined);
      await untilReleased(); // rows moving under a finger would open another client
      requestAnimationFrame(() => {
        working = false;
        if (gone()) return; // left while it was worked out
        drawnAt = performance.now();
        draw(derived);
        // The list's own time: drawing, and working it out if that was for this draw.
        took = performance.now() - drawnAt + (derived && derived !== shown ? derived.ms || 0 : 0);
        shown = derived;
        if (again) redraw();
      });
    }, Math.max(0, drawnAt + gap() - performance.now()));
  };
  const showProgress = (p) => {
    const text = progressText(p);
    progress.hidden = !text;
    if (progress.textContent !== text) progress.textContent = text;
  };
  // Followed while this screen is the one shown; once another took its place it stops
  // (a list no one sees is never drawn again: that would derive the whole caseload on
  // every save). Until it is first placed (ctx.placed), changes wait for that.
  let settled = false; // placed, or known never to be
  let missed = false;
  const stop = [
    index.subscribe(() => { if (!gone()) index.ready().then(redraw, () => {}); }),
    ctx.O.api.on((type, detail) => {
      if (type !== 'pull-progress' || gone()) return;
      untilReleased().then(() => showProgress(detail)); // the line going moves the rows
      const was = landing;
      landing = !!detail;
      if (was && !landing && queued) { clearTimeout(queued); queued = null; redraw(); }
    }),
  ];
  function gone() {
    if (ctx.isCurrent()) return false;
    if (settled) { stop.forEach((f) => f()); return true; }
    missed = true;
    return true;
  }


  ctx.append(
    h('h1', { tabindex: '-1', text: 'Caseload' }),
    ctx.notice ? h('p', { class: 'info', role: 'status', text: ctx.notice }) : null,
    progress,
    h('div', { class: 'actions' },
      h('a', { class: 'btn btn-primary', href: '#/record', text: 'Record intervention' }),
      h('a', { class: 'btn', href: '#/client-form', text: 'Add client' })),
    search.wrap, count, list, pager,
  );
  draw(first);
  if (index.version !== seen) missed = true;
  showProgress(await ctx.O.db.getMeta('pull_progress').catch(() => null));
  // The app places this screen after render() returns (later if a finger is on the
  // screen), or another navigation takes over: ctx.placed says when it is either.
  ctx.placed.then(() => {
    settled = true;
    if (missed && !gone()) index.ready().then(redraw, () => {});
  });
}

/* "Getting your caseload: 1,000 of 5,020 clients" while a first sync is under way. */
function progressText(p) {
  if (!p || !p.totals) return '';
  const got = p.got || {};
  const all = p.totals.client || 0;
  if ((got.client || 0) < all) return 'Getting your caseload: ' + n(got.client || 0) + ' of ' + n(all) + ' clients';
  let want = 0;
  let have = 0;
  for (const [e, t] of Object.entries(p.totals)) if (e !== 'client') { want += t; have += Math.min(got[e] || 0, t); }
  return have < want ? 'Getting recent contacts and follow-ups: ' + n(have) + ' of ' + n(want) : '';
}

function row(r) {
  const tags = [];
  if (r.followUpState === 'overdue') tags.push(h('span', { class: 'tag tag-overdue', text: 'Follow-up overdue' }));
  else if (r.followUpState === 'due') tags.push(h('span', { class: 'tag tag-due', text: 'Follow-up due today' }));
  tags.push(statusTag({ status: r.status, conflict: r.conflict ? [r.conflict] : null }));
  const meta = [r.lastContact ? 'Last contact ' + fmtDateTime(r.lastContact) : 'No contact yet'];
  if (r.followUp && r.followUpState === 'upcoming') meta.push('Follow-up ' + fmtDate(r.followUp));
  return h('li', {}, h('a', { class: 'row', href: '#/client/' + encodeURIComponent(r.id) },
    h('span', { class: 'row-title', text: clientName(r) }), ...tags,
    h('span', { class: 'row-meta', text: meta.join(' · ') }),
    h('span', { class: 'row-meta', text: 'Born ' + fmtDate(r.date_of_birth) + (r.postcode_district ? ' · ' + r.postcode_district : '') })));
}
