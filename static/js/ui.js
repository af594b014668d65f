/* Small DOM helpers: elements built with textContent only (never HTML strings; strict CSP). */

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let fieldSeq = 0;

/* A labelled form field; returns {wrap, input, setError}. */
export function field(label, input, hint) {
  const id = input.id || 'f' + ++fieldSeq;
  input.id = id;
  const errId = id + '-err';
  const hintId = id + '-hint';
  const err = h('p', { class: 'error', id: errId, hidden: true });
  const described = [];
  const parts = [h('label', { for: id, text: label })];
  if (hint) { parts.push(h('span', { class: 'hint', id: hintId, text: hint })); described.push(hintId); }
  if (described.length) input.setAttribute('aria-describedby', described.join(' '));
  const wrap = h('div', { class: 'field' }, parts, input, err);
  return {
    wrap, input,
    setError(msg) {
      err.hidden = !msg;
      err.textContent = msg || '';
      if (msg) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', [...described, errId].join(' '));
      } else {
        input.removeAttribute('aria-invalid');
        if (described.length) input.setAttribute('aria-describedby', described.join(' '));
        else input.removeAttribute('aria-describedby');
      }
    },
  };
}

/* A date as day, month and year boxes (the GOV.UK date input: no calendar that opens at
   today for a date of birth). Returns {wrap, input (the day box), value(), setError}:
   value() is YYYY-MM-DD, '' when all three are empty, or what was typed when it cannot
   be a date (the validation then says so). */
export function dateField(label, iso, name, hint) {
  const id = name || 'd' + ++fieldSeq;
  const [y, m, d] = /^\d{4}-\d{2}-\d{2}$/.test(iso || '') ? iso.split('-') : ['', '', ''];
  const hintId = id + '-hint';
  const errId = id + '-err';
  const box = (part, text, val, size) => h('div', { class: 'date-item date-' + part },
    h('label', { for: id + '-' + part, text }),
    h('input', { id: id + '-' + part, name: id + '_' + part, inputmode: 'numeric', autocomplete: 'off', maxlength: String(size), value: val ? String(Number(val)) : '', 'aria-describedby': hint ? hintId : null }));
  const parts = [box('day', 'Day', d, 2), box('month', 'Month', m, 2), box('year', 'Year', y, 4)];
  const inputs = parts.map((p) => p.querySelector('input'));
  const err = h('p', { class: 'error', id: errId, hidden: true });
  const wrap = h('fieldset', { class: 'field date-field', id: id, role: 'group', 'aria-describedby': hint ? hintId : null },
    h('legend', { text: label }), hint ? h('span', { class: 'hint', id: hintId, text: hint }) : null, err,
    h('div', { class: 'date-input' }, parts));
  return {
    wrap, input: inputs[0],
    value() {
      const [dd, mm, yy] = inputs.map((i) => i.value.trim());
      if (!dd && !mm && !yy) return '';
      if (!/^\d{1,2}$/.test(dd) || !/^\d{1,2}$/.test(mm) || !/^\d{4}$/.test(yy)) return dd + '/' + mm + '/' + yy;
      return yy + '-' + mm.padStart(2, '0') + '-' + dd.padStart(2, '0');
    },
    setError(msg) {
      err.hidden = !msg;
      err.textContent = msg || '';
      for (const i of inputs) {
        if (msg) i.setAttribute('aria-invalid', 'true'); else i.removeAttribute('aria-invalid');
        i.setAttribute('aria-describedby', [hint ? hintId : null, msg ? errId : null].filter(Boolean).join(' '));
        if (!i.getAttribute('aria-describedby')) i.removeAttribute('aria-describedby');
      }
    },
  };
}

export function select(options, value, attrs) {
  const el = h('select', attrs || {});
  for (const o of options) el.append(h('option', { value: o.value, text: o.label }));
  if (value != null) el.value = value;
  return el;
}

/* An error summary that takes focus (GOV.UK pattern). errors: [{msg, target?}] */
export function errorSummary(errors, title) {
  const box = h('div', { class: 'error-summary', role: 'alert', tabindex: '-1' },
    h('h2', { text: title || 'There is a problem' }),
    h('ul', {}, errors.map((e) => h('li', {}, e.target
      ? h('a', { href: '#' + e.target, onclick: (ev) => { ev.preventDefault(); document.getElementById(e.target)?.focus(); }, text: e.msg })
      : e.msg))));
  return box;
}

/* One formatter of each kind, made once (a new one per call is most of the cost). */
const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
const DATE_TIME = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const TIME = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });
export function fmtDate(iso) {
  if (!iso) return '';
  const d = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? new Date(iso + 'T12:00:00') : new Date(iso);
  if (isNaN(d)) return iso;
  return DATE.format(d);
}
/* An ISO date-time (or a time in ms) as "3 Dec, 14:05". */
export function fmtDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return DATE_TIME.format(d);
}
export function fmtTime(ms) {
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  return today ? TIME.format(d) : DATE_TIME.format(d);
}

/* Local calendar date as YYYY-MM-DD. */
export function today(offsetDays = 0) {
  const d = new Date();
  d.setDate(d.getDate() + offsetDays);
  return localDate(d);
}
export function localDate(d) {
  return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');
}
/* Value for <input type="datetime-local"> from a Date. */
export function localDateTime(d) {
  return localDate(d) + 'T' + String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
}
/* ISO 8601 with the phone's offset from a datetime-local value. */
export function isoWithOffset(local) {
  const d = new Date(local);
  if (isNaN(d)) return null;
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return local.length === 16 ? local + ':00' + sign + String(Math.floor(abs / 60)).padStart(2, '0') + ':' + String(abs % 60).padStart(2, '0')
    : d.toISOString();
}

export function clientName(c) {
  if (!c) return 'Unknown client';
  const d = c.data || c;
  return (d.initials || '??') + (d.known_as ? ' (' + d.known_as + ')' : '');
}

export function statusTag(rec) {
  if (!rec) return null;
  if (rec.status === 'rejected') return h('span', { class: 'tag tag-rejected', text: 'Needs fixing' });
  if (rec.status === 'pending') return h('span', { class: 'tag tag-pending', text: 'Waiting to sync' });
  if (rec.conflict) return h('span', { class: 'tag tag-due', text: 'Changed on server' });
  return null;
}

/* Keep what the worker is typing in IndexedDB, so closing the tab, a crash or a tap on
   the menu never loses it. The draft owns the id of the record it will make (`id`): every
   save of one draft (double taps, a second Enter, a ghost touch on a cracked screen, a save
   again after a crash) writes that one record. Returns {restored, id, clear()}. */
export async function keepDraft(form, key, onRestore) {
  const db = self.Outreach.db;
  const name = 'draft:' + key;
  const read = () => {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.type === 'submit' || el.type === 'button') continue;
      if (el.type === 'checkbox') {
        if (el.name === 'substances') { (out[el.name] = out[el.name] || []); if (el.checked) out[el.name].push(el.value); } else out[el.name] = el.checked;
      } else out[el.name] = el.value;
    }
    return out;
  };
  const write = (values) => {
    for (const el of form.elements) {
      if (!el.name || !(el.name in values)) continue;
      if (el.type === 'checkbox') el.checked = Array.isArray(values[el.name]) ? values[el.name].includes(el.value) : !!values[el.name];
      else el.value = values[el.name];
    }
  };
  const draft = await db.getMeta(name);
  const id = (draft && draft.id) || self.Outreach.api.uuid();
  let restored = false;
  if (draft && draft.values) {
    write(draft.values);
    if (onRestore) onRestore();
    write(draft.values);
    restored = true;
  }
  let timer = null;
  const save = () => {
    clearTimeout(timer);
    timer = setTimeout(() => db.setMeta({ [name]: { values: read(), id, at: Date.now() } }).catch(() => {}), 300);
  };
  form.addEventListener('input', save);
  form.addEventListener('change', save);
  return {
    restored,
    id,
    /* `also`: other meta values written in the same transaction. */
    async clear(also) { clearTimeout(timer); form.removeEventListener('input', save); form.removeEventListener('change', save); await db.setMeta(Object.assign({ [name]: undefined }, also)); },
  };
}

export function draftNotice(onDiscard) {
  const btn = h('button', { type: 'button', class: 'btn btn-small', text: 'Start again' });
  const box = h('div', { class: 'info', role: 'status' }, h('p', { text: 'We kept what you were typing last time.' }), btn);
  btn.addEventListener('click', () => onDiscard(box));
  return box;
}

/* One submission at a time: `handler` runs for a submit unless the last one is still
   running or has succeeded (it returns true once the record is saved: the form is done,
   the taps that follow are ghosts). */
export function onSubmitOnce(form, handler) {
  let state = 'idle';
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (state !== 'idle') return;
    state = 'busy';
    let done = false;
    try { done = await handler(ev); } finally { state = done ? 'done' : 'idle'; }
  });
}

/* Light or dark: the worker's choice in Account ('light', 'dark'), else the phone's
   setting (prefers-color-scheme). Kept in localStorage, read before the first screen. */
export function themeChoice() {
  try { return localStorage.getItem('theme') || 'auto'; } catch (_) { return 'auto'; }
}
export function applyTheme(choice) {
  if (choice) { try { localStorage.setItem('theme', choice); } catch (_) { /* private mode */ } }
  const theme = choice || themeChoice();
  const root = document.documentElement;
  if (theme === 'light' || theme === 'dark') root.dataset.theme = theme; else delete root.dataset.theme;
  const dark = theme === 'dark' || (theme !== 'light' && matchMedia('(prefers-color-scheme: dark)').matches);
  for (const m of document.querySelectorAll('meta[name="theme-color"]')) {
    m.setAttribute('content', dark ? '#101c22' : '#0b4f6c');
  }
}

/* A finger (or mouse button) on the screen: redrawing now would take the element from under
   it, and the tap would be lost (the click then belongs to neither the old element nor the
   new one), or rows moving under it would open another client. A redraw waits for the
   release and the click it makes. No wait is longer than MAX_HOLD_MS: a long press, or a
   release the page never hears of (a pointer held that long stops counting). */
const MAX_HOLD_MS = 1000;
const pressed = new Map(); // pointerId -> when it went down
let settling = false; // released, its click not yet dispatched
let settleTimer = null;
const waiting = new Set(); // {resolve, timer}
function holding() {
  const now = performance.now();
  for (const [id, since] of pressed) if (now - since >= MAX_HOLD_MS) pressed.delete(id);
  return pressed.size > 0 || settling;
}
function release() {
  if (holding()) return;
  for (const w of waiting) { clearTimeout(w.timer); w.resolve(); }
  waiting.clear();
}
function settle(ms) {
  settling = true;
  clearTimeout(settleTimer);
  settleTimer = setTimeout(() => { settling = false; release(); }, ms);
}
const listen = (target, name, fn) => target.addEventListener(name, fn, { capture: true, passive: true });
listen(document, 'pointerdown', (e) => { pressed.set(e.pointerId, performance.now()); });
// A touch's click comes as a gesture of its own after pointerup: a little time for it.
listen(document, 'pointerup', (e) => { pressed.delete(e.pointerId); settle(150); });
listen(document, 'pointercancel', (e) => { pressed.delete(e.pointerId); settle(0); });
listen(document, 'click', () => settle(0)); // after its default action (a link's new address)
listen(document, 'visibilitychange', () => { if (document.hidden) { pressed.clear(); settle(0); } });
export function untilReleased() {
  if (!holding()) return Promise.resolve();
  return new Promise((resolve) => {
    const w = { resolve };
    w.timer = setTimeout(() => { waiting.delete(w); resolve(); }, MAX_HOLD_MS);
    waiting.add(w);
  });
}
export const redrawsHeld = () => waiting.size;
