/* Everything the browser keeps for the site, as one text (tests/pwa/test_lock.py). */
(async () => {
  const text = (v) => JSON.stringify(v, (k, x) => {
    if (x instanceof ArrayBuffer) x = new Uint8Array(x);
    if (ArrayBuffer.isView(x)) {
      // In slices: a large sealed value (the caseload's snapshot) spread at once overflows the stack.
      const b = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
      let out = '';
      for (let i = 0; i < b.length; i += 8192) out += String.fromCharCode(...b.subarray(i, i + 8192));
      return out;
    }
    if (x instanceof CryptoKey) return 'CryptoKey';
    return x;
  });
  const out = [];
  for (const info of await indexedDB.databases()) {
    const idb = await new Promise((ok, no) => { const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
    for (const name of idb.objectStoreNames) {
      const t = idb.transaction(name).objectStore(name);
      const [keys, values] = await Promise.all([t.getAllKeys(), t.getAll()].map((r) => new Promise((ok) => { r.onsuccess = () => ok(r.result); })));
      out.push(info.name + '/' + name + ' ' + text(keys) + ' ' + text(values));
    }
    idb.close();
  }
  for (const s of [localStorage, sessionStorage]) for (let i = 0; i < s.length; i++) out.push(s.key(i) + '=' + s.getItem(s.key(i)));
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const req of await cache.keys()) out.push(req.url + ' ' + await (await cache.match(req)).text());
  }
  return out.join('\n');
})
