/* Outreach service worker. The server fills in the shell's file list and a hash of every
   shell file (outreach/shell.py), so each deploy changes these bytes: the browser
   installs the new worker, the page offers "Reload", and old caches are deleted. */
'use strict';
const VERSION = '__SHELL_VERSION__';
const SHELL = __SHELL_FILES__;
const CACHE = 'outreach-shell-' + VERSION;

importScripts('/js/core/db.js', '/js/core/spec.js', '/js/core/vault.js', '/js/core/api.js', '/js/core/sync.js');

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' })))
    )
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((k) => k.startsWith('outreach-shell-') && k !== CACHE).map((k) => caches.delete(k))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'skip-waiting') self.skipWaiting();
  if (event.data && event.data.type === 'version' && event.ports[0]) event.ports[0].postMessage(VERSION);
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  // The API (personal data) is never cached: straight to the network.
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (request.mode === 'navigate') {
    event.respondWith(
      caches.open(CACHE)
        .then((cache) => cache.match('/'))
        .then((hit) => hit || fetch(request))
    );
    return;
  }
  event.respondWith(
    caches.open(CACHE)
      .then((cache) => cache.match(request, { ignoreSearch: true }))
      .then((hit) => hit || fetch(request))
  );
});

// Background Sync (Chromium): push and pull when the page asked while offline. The service
// worker never holds the data key (the app lock), so it syncs nothing while no tab is
// unlocked; an unlocked page syncs itself on `online` and on its timer.
self.addEventListener('sync', (event) => {
  if (event.tag !== 'outreach-sync') return;
  event.waitUntil(
    self.Outreach.sync.run('background').then((outcome) => {
      if (outcome === 'offline') throw new Error('offline: retry later');
      // 'locked': nothing to do here; the page syncs once unlocked.
    })
  );
});
