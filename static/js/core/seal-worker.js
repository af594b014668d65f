/* The page's seal worker (see "large writes" in js/core/db.js): seals a large batch of
   writes the page decided (a pulled page of the first sync) and commits it in one
   IndexedDB transaction, off the page's main thread. It holds the data key the page hands
   it (never stored) and answers with the store's new `rev`; the page, which holds the
   store lock meanwhile, then tells its own listeners. */
importScripts('/js/core/db.js', '/js/core/vault.js');
(function (g) {
  'use strict';
  const { db, vault } = g.Outreach;
  let rev = null;
  db.onRecords((n) => { if (n.rev != null) rev = n.rev; });

  g.onmessage = async (e) => {
    const m = e.data;
    if (m.type === 'key') { vault.useKey(m.handle); return; }
    if (m.type !== 'write') return;
    try {
      if (!vault.isUnlocked()) throw Object.assign(new Error('The app is locked.'), { locked: true });
      rev = null;
      const started = performance.now();
      await db.commitSealed(m.writes, false, m.delta || null, !!m.relaxed);
      g.postMessage({ id: m.id, ok: true, rev, ms: performance.now() - started, sealMs: db.commitSealed.sealMs });
    } catch (err) {
      g.postMessage({ id: m.id, ok: false, locked: !!(err && err.locked), error: String((err && err.message) || err) });
    }
  };
})(self);
