/* Outreach PWA: boot, router, the lock, sync status, service-worker updates. */
import './core/db.js';
import './core/spec.js';
import './core/vault.js';
import './core/api.js';
import './core/sync.js';
import * as session from './core/session.js';
import { h, fmtTime, applyTheme, untilReleased } from './ui.js';
import { screensFor, homeFor, SCREENS } from './nav.js';

const O = self.Outreach;
const { db, api, sync, vault } = O;
const IDLE_CHECK_MS = 15 * 1000;
// Page titles stay in the browser's history after sign-out: never a heading (a client's
// initials or known-as name), only the kind of screen.
const TITLES = { client: 'Client', 'client-form': 'Client details', record: 'Intervention', lock: 'Locked', signin: 'Sign in' };
const $ = (id) => document.getElementById(id);
const SYNC_EVERY_MS = 60 * 1000;

let covered = null; // while the page is hidden: {nodes, who} of the screen (see cover())
const state = { profile: null, view: null, syncing: false, rendering: 0, notice: null, screenNotice: null };

/* ---------- routing ---------- */

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [pathPart, queryPart] = raw.split('?');
  const [path, ...args] = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  return { path: path || '', args, query: new URLSearchParams(queryPart || '') };
}

export function go(path) {
  const target = '#/' + path;
  if (location.hash === target) route(); else location.hash = target;
}

async function route() {
  const ticket = ++state.rendering;
  const hash = location.hash;
  const { path, args, query } = parseHash();
  // A later navigation took over: a newer route, or a hash the browser has not yet told us
  // of (hashchange is a task of its own; a redirect decided now would undo the worker's tap).
  const overtaken = () => ticket !== state.rendering || location.hash !== hash;
  const lock = await vault.status().catch(() => ({ state: 'none' }));
  if ((lock.state === 'locked' && !state.signInAsked) || lock.state === 'needs-pin') {
    state.profile = null;
    return show(await import('./views/lock.js'), { args, query, mode: lock.state, hash }, ticket, 'lock');
  }
  if (lock.state !== 'unlocked' || state.signInAsked) {
    state.profile = null;
    if (lock.state === 'expired' && !state.notice) state.notice = 'You have not been online for a while, so this phone needs your password. Sign in when you have signal: nothing you recorded is lost.';
    if (lock.state === 'forgotten' && !state.notice) state.notice = 'Sign in with your password (you need signal). Nothing you recorded is lost.';
    return show(await import('./views/signin.js'), { args, query, hash }, ticket, 'signin');
  }
  // Only what routing needs (read together, each opened once per unlock: db.js keeps them).
  const [refreshToken, profile] = await Promise.all([db.getMeta('refresh_token'), db.getMeta('profile')]).catch(() => []);
  const meta = { refresh_token: refreshToken, profile };
  if (overtaken()) return;
  const signedIn = !!(meta.refresh_token && meta.profile);
  if (!signedIn) return show(await import('./views/signin.js'), { args, query, hash }, ticket, 'signin');
  state.profile = meta.profile;
  const allowed = screensFor(meta.profile.role);
  const screen = allowed.find((s) => s.path === path);
  if (!screen) return go(homeFor(meta.profile.role));
  show(await screen.load(), { args, query, hash }, ticket, screen.path);
}

/* `hash` is the one the screen was routed for: a refresh after a sync redraws that screen
   only while the address still says so. */
async function show(mod, { args, query, mode, hash }, ticket, path, keepFocus) {
  const overtaken = () => ticket !== state.rendering || location.hash !== hash;
  if (overtaken()) return;
  const signedIn = path !== 'signin' && path !== 'lock';
  const main = $('main');
  const view = document.createElement('div');
  // A navigation takes the pending notice for its screen; a live refresh (keepFocus) shows
  // the latest navigation's notice again, so "Intervention saved." does not vanish the
  // moment the sync that follows the save ends (even if it overtakes that navigation).
  if (!keepFocus) state.screenNotice = takeNotice();
  let placed;
  const ctx = makeContext(view, state.screenNotice, new Promise((resolve) => { placed = resolve; }));
  try {
    try {
      await mod.render(ctx, args, query, mode);
    } catch (e) {
      console.error(e);
      view.replaceChildren(h('h1', { tabindex: '-1', text: 'Something went wrong' }), h('p', { text: 'Your records are safe on this phone. Go back and try again.' }));
    }
    // Not while a finger is on the screen (its tap would be lost); then only the latest
    // render reaches the screen (the tap may have navigated).
    if (!covered) await untilReleased();
    if (overtaken()) return;
    renderChrome(signedIn, path);
    if (signedIn && !vault.isUnlocked()) return; // locked while this screen was being built
    state.view = { mod, args, query, path, hash };
    if (covered) covered.nodes = [view]; // hidden: shown when the page is visible again
    else main.replaceChildren(view);
    const heading = view.querySelector('h1');
    const screen = SCREENS.find((s) => s.path === path);
    document.title = (TITLES[path] || (screen && screen.label) || '') + (path ? ' – ' : '') + 'Outreach';
    if (!keepFocus) (heading || main).focus();
    updateStatus();
  } finally {
    placed(); // shown, or never will be (ctx.isCurrent() tells which)
  }
}

function makeContext(main, notice, placed) {
  return {
    main,
    /* Resolves once the screen is placed, or is known never to be (then isCurrent() is false). */
    placed,
    append: (...nodes) => main.append(...nodes.flat().filter((n) => n != null && n !== false)),
    O,
    profile: state.profile,
    codes: (state.profile && state.profile.codes) || {},
    go,
    /* This screen is the one shown (or the one held while the page is hidden). */
    isCurrent: () => main.isConnected || !!(covered && covered.nodes.includes(main)),
    runSync: (reason) => runSync(reason),
    updateStatus: () => updateStatus(),
    notice: notice || null,
    flash(msg) { state.notice = msg; },
    showSignIn() { state.signInAsked = true; route(); },
  };
}

function takeNotice() {
  const n = state.notice;
  state.notice = null;
  return n;
}

function renderChrome(signedIn, path) {
  $('syncbar').hidden = !signedIn || !syncs(state.profile);
  $('bar').classList.toggle('has-sync', !$('syncbar').hidden);
  $('nav').hidden = !signedIn;
  $('lock-now').hidden = !signedIn;
  const who = signedIn && state.profile ? state.profile.name : '';
  if (covered) covered.who = who; else $('whoami').textContent = who;
  if (!signedIn) return;
  const list = $('nav-list');
  list.replaceChildren(...screensFor(state.profile.role).filter((s) => s.nav).map((s) => {
    const current = s.path === path || (path === 'client' && s.path === 'caseload') || (path === 'client-form' && s.path === 'caseload') || (path === 'record' && s.path === 'caseload') || (path === 'pathway' && s.path === 'caseload');
    return h('li', {}, h('a', { href: '#/' + s.path, 'aria-current': current ? 'page' : null, text: s.label }));
  }));
}

/* ---------- sync status ---------- */

let statusTicket = 0;

async function updateStatus() {
  let n = 0;
  let rejected = 0;
  let meta = {};
  // Reads can end out of order on a slow phone: only the latest update draws, so one that
  // read the outbox before a save never writes "All changes synced" over the save's.
  const ticket = ++statusTicket;
  try {
    // The outbox's states are kept in clear: counted without opening an entry.
    const [box, conflicts, progress, lastSync] = await Promise.all([
      db.outboxStates(), db.getMeta('conflicts'), db.getMeta('pull_progress'), db.getMeta('last_sync'),
    ]);
    n = box.length;
    rejected = box.filter((e) => e.state === 'rejected').length;
    meta = { conflicts, pull_progress: progress, last_sync: lastSync };
  } catch (_) { return; }
  if (ticket !== statusTicket) return;
  // Rejected changes and changes the server overwrote wait for the worker: they lead.
  const attention = rejected + (meta.conflicts || []).length;
  const waiting = n - rejected;
  const progress = state.syncing ? pullProgress(meta.pull_progress || state.progress) : null;
  let text;
  if (attention) text = attention === 1 ? '1 change needs your attention' : attention + ' changes need your attention';
  else if (state.offlineTap && !navigator.onLine) text = 'No signal: ' + (n ? n + ' waiting, sent when you are back online' : 'nothing is waiting');
  else if (progress) text = 'Getting your caseload: ' + progress.got.toLocaleString('en-GB') + ' of ' + progress.total.toLocaleString('en-GB');
  // Never "All changes synced" before the first pull has brought the caseload.
  else text = n ? n + ' waiting to sync' : meta.last_sync ? 'All changes synced'
    : state.syncing ? 'Getting your caseload…' : 'Caseload not downloaded yet';
  const el = $('sync-state');
  if (el.textContent !== text) el.textContent = text;
  const bar = $('syncbar');
  bar.classList.toggle('sync-waiting', n > 0);
  bar.classList.toggle('attention', attention > 0);
  bar.classList.toggle('syncing', state.syncing);
  const parts = [];
  if (attention && waiting) parts.push(waiting + ' waiting to sync');
  parts.push(meta.last_sync ? 'Synced ' + fmtTime(meta.last_sync) : 'Not synced yet');
  if (!navigator.onLine) parts.push('Offline');
  if (state.syncing) parts.push('Syncing…');
  $('last-sync').textContent = parts.join(' · ');
  const meter = $('pull-progress');
  meter.hidden = !progress;
  if (progress) { meter.max = progress.total; meter.value = progress.got; }
  $('sync-now').disabled = state.syncing;
  syncBadge(attention);
  storageWarning(n);
}

/* A first pull's progress ({totals, got} by entity, from sync.js): clients if counted. */
function pullProgress(p) {
  if (!p || !p.totals) return null;
  const pick = (o) => (p.totals.client != null ? (o || {}).client || 0 : Object.values(o || {}).reduce((a, b) => a + b, 0));
  const total = pick(p.totals);
  return total > 0 ? { total, got: Math.min(pick(p.got), total) } : null;
}

/* The Sync tab carries the number of changes waiting for the worker. */
function syncBadge(count) {
  const link = document.querySelector('#nav a[href="#/sync"]');
  if (!link) return;
  let badge = link.querySelector('.badge');
  if (!count) { if (badge) badge.remove(); return; }
  if (!badge) {
    badge = h('span', { class: 'badge' });
    link.append(badge);
  }
  const label = count + (count === 1 ? ' change needs' : ' changes need') + ' your attention';
  if (badge.dataset.label !== label) {
    badge.replaceChildren(h('span', { 'aria-hidden': 'true', text: String(count) }), h('span', { class: 'visually-hidden', text: ': ' + label }));
    badge.dataset.label = label;
  }
}

async function storageWarning(n) {
  let persisted = true;
  try { persisted = navigator.storage && navigator.storage.persisted ? await navigator.storage.persisted() : true; } catch (_) { /* unknown */ }
  $('storage-warning').hidden = !(n > 0 && !persisted);
}

/* Only workers and team leads keep records on the phone. */
function syncs(profile) {
  return !!profile && (profile.role === 'worker' || profile.role === 'team_lead');
}

export async function runSync(reason) {
  if (!vault.isUnlocked()) return 'locked';
  // A save while a sync runs is sent by that sync, or by one more right after it.
  if (state.syncing) {
    if (!state.again) {
      let resolve;
      const done = new Promise((r) => { resolve = r; });
      state.again = { reason, done, resolve };
    }
    return state.again.done; // the outcome of the sync that runs right after this one
  }
  const profile = state.profile || (await db.getMeta('profile').catch(() => null));
  if (profile && !syncs(profile)) return 'not-needed';
  state.syncing = true;
  updateStatus();
  let outcome;
  try {
    outcome = await sync.run(reason);
  } catch (e) {
    if (!e.locked) throw e;
    outcome = 'locked'; // locked while it ran: the next unlock syncs again
  } finally {
    state.syncing = false;
  }
  const again = state.again;
  state.again = null;
  if (outcome === 'ok') state.offlineTap = false;
  if (outcome === 'offline' && reason === 'manual') state.offlineTap = true;
  updateStatus();
  if (outcome === 'offline' || outcome === 'error') sync.requestBackgroundSync();
  if (outcome === 'ok') session.renewLease().catch(() => {});
  if (again) again.resolve(outcome === 'ok' ? await runSync(again.reason) : outcome);
  return outcome;
}

/* Re-render list screens after a sync; never re-render a form the worker is typing in. */
function refreshView() {
  const v = state.view;
  if (!v || !v.mod.live || v.hash !== location.hash) return; // a navigation is under way
  if (document.activeElement && document.activeElement.closest('#main input, #main select, #main textarea')) return;
  show(v.mod, v, ++state.rendering, v.path, true);
}

/* ---------- service worker ---------- */

function setupServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  let reloading = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (state.updateAccepted && !reloading) { reloading = true; location.reload(); }
  });
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).then((reg) => {
    const offer = (worker) => {
      if (!worker || !navigator.serviceWorker.controller) return;
      state.waiting = worker;
      $('update').hidden = false;
    };
    if (reg.waiting) offer(reg.waiting);
    reg.addEventListener('updatefound', () => {
      const worker = reg.installing;
      if (!worker) return;
      worker.addEventListener('statechange', () => { if (worker.state === 'installed') offer(worker); });
    });
    state.registration = reg;
  }).catch((e) => console.warn('service worker not registered', e));
  $('reload').addEventListener('click', () => {
    state.updateAccepted = true;
    if (state.waiting) state.waiting.postMessage({ type: 'skip-waiting' });
    else location.reload();
  });
}

function checkForUpdate() {
  if (state.registration && navigator.onLine) state.registration.update().catch(() => {});
}

/* ---------- notices ---------- */

function iosHint() {
  const ua = navigator.userAgent;
  const ios = /iPhone|iPad|iPod/.test(ua) || (ua.includes('Macintosh') && navigator.maxTouchPoints > 1);
  const standalone = navigator.standalone === true || matchMedia('(display-mode: standalone)').matches;
  let dismissed = false;
  try { dismissed = localStorage.getItem('ios-hint-dismissed') === '1'; } catch (e) { /* private mode */ }
  $('ios-hint').hidden = !(ios && !standalone) || dismissed;
  $('ios-hint-close').addEventListener('click', () => {
    $('ios-hint').hidden = true;
    try { localStorage.setItem('ios-hint-dismissed', '1'); } catch (e) { /* private mode */ }
  });
}

/* ---------- boot ---------- */

/* ---------- the lock ---------- */

/* Locked: nothing personal stays in the DOM, then the lock screen. */
function blank() {
  if (covered) covered = { nodes: [], who: '' };
  db.forget();
  state.profile = null;
  state.view = null;
  $('main').replaceChildren();
  $('whoami').textContent = '';
  $('nav-list').replaceChildren();
  $('nav').hidden = true;
  $('syncbar').hidden = true;
  $('bar').classList.remove('has-sync');
  $('lock-now').hidden = true;
  document.title = 'Outreach';
}

vault.on((type) => {
  if (type === 'unlocked' || type === 'unlocked-pin') {
    state.signInAsked = false;
    if (type === 'unlocked-pin') runSync('start'); // a sign-in syncs by itself
    return;
  }
  blank();
  if (type === 'locked') api.emit('lock-all', {});
  route();
});

['pointerdown', 'keydown', 'touchstart', 'input', 'wheel'].forEach((name) =>
  document.addEventListener(name, session.noteActivity, { capture: true, passive: true }));
setInterval(() => { session.checkIdle(); }, IDLE_CHECK_MS);
$('lock-now').addEventListener('click', () => session.lockNow('locked'));
// The task switcher's snapshot is taken as the page hides: everything personal leaves the
// DOM first (the screen's nodes and the worker's name are held in memory only, so a form
// half typed comes back as it was) and a plain cover takes the screen. Visible again, the
// screen comes back unless the app locked meanwhile (it was away too long).
function cover() {
  if (covered) return;
  covered = { nodes: [...$('main').childNodes], who: $('whoami').textContent };
  $('main').replaceChildren();
  $('whoami').textContent = '';
  coverEl().hidden = false;
}
async function uncover() {
  if (!covered) return;
  await session.checkIdle().catch(() => false);
  if (document.hidden || !covered) return;
  const { nodes, who } = covered;
  covered = null;
  // What the page would show now (blank() empties it when the app locks meanwhile).
  $('main').replaceChildren(...nodes);
  $('whoami').textContent = who;
  coverEl().hidden = true;
}
function coverEl() {
  let el = $('cover');
  if (!el) {
    el = h('div', { id: 'cover', class: 'cover', 'aria-hidden': 'true' }, h('p', { class: 'brand', text: 'Outreach' }));
    document.body.append(el);
  }
  return el;
}
document.addEventListener('visibilitychange', () => { if (document.hidden) cover(); else uncover(); });
if (document.hidden) cover();

api.on((type, detail, remote) => {
  if (remote && type === 'lock-all') session.lockNow('lock-all');
  // Another tab signed in or out: this tab's key and identity are no longer the phone's.
  if (remote && type === 'session' && (!detail || detail.kid !== vault.keyId())) session.lockNow('identity');
  if (remote && type === 'signed-out') session.lockNow('signed-out');
  if (remote && type === 'pin-set' && !vault.isUnlocked()) route();
  if (type === 'pull-progress') { state.progress = detail; updateStatus(); }
  // A notice such as "Client updated." never sits above "Changed on the server".
  if (type === 'sync-end' && detail && detail.conflicts) state.screenNotice = null;
  if (type === 'changed' || type === 'sync-end') updateStatus();
  if (type === 'sync-end' && detail && detail.changed) refreshView();
  if (type === 'wiped') {
    state.profile = null;
    state.notice = 'This phone was signed out by your organisation and its local records were removed. Sign in again.';
    go('');
  }
  if (type === 'signed-out') {
    state.notice = detail && detail.reason === 'logout'
      ? (detail.waiting ? 'You have signed out. ' + (detail.waiting === 1 ? '1 record not yet synced stays' : detail.waiting + ' records not yet synced stay') + ' on this phone, encrypted, until you sign in again.' : 'You have signed out. Nothing of yours is left on this phone.')
      : 'Your session has ended. Sign in again: records not yet synced are kept on this phone.';
    go('');
  }
});

window.addEventListener('hashchange', route);
window.addEventListener('online', () => { state.offlineTap = false; updateStatus(); runSync('online'); checkForUpdate(); });
window.addEventListener('offline', updateStatus);
document.addEventListener('visibilitychange', () => { if (!document.hidden) { runSync('visible'); checkForUpdate(); } });
$('sync-now').addEventListener('click', () => {
  // No signal: say so where the worker is looking, instead of a sync that cannot start.
  if (!navigator.onLine) { state.offlineTap = true; updateStatus(); return; }
  runSync('manual');
});
applyTheme();
setInterval(() => { if (!document.hidden) runSync('timer'); }, SYNC_EVERY_MS);
setInterval(checkForUpdate, 30 * 60 * 1000);

setupServiceWorker();
iosHint();
route().then(() => runSync('start'));
if (navigator.storage && navigator.storage.persisted) {
  navigator.storage.persisted().then((yes) => { if (!yes && state.profile) return navigator.storage.persist(); }).catch(() => {});
}

export { state, route, updateStatus, SCREENS };
