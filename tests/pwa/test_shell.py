"""The app shell as served: size budget, CSP-safe markup, manifest, and a service worker
whose bytes change with any static file (so a deploy updates every phone)."""

from __future__ import annotations

import gzip
import json
import re
import shutil

from outreach.shell import STATIC_DIR

# What a phone downloads to install the app: every file the service worker precaches,
# as the server sends it (text gzip-compressed). Was 150 KiB of uncompressed files
# before the shell was served compressed (about 57 KiB compressed then).
# 72 KiB, plus the pathways screens (referrals, a client's pathway and its forms: about
# 5 KiB compressed, precached for offline like every screen), plus the app lock
# (js/core/vault.js, session.js, views/lock.js, sealing in db.js: about 10 KiB), plus
# issue 15's field work (dark theme, the bottom bar and its icons, the day/month/year date
# input, quick record, the push's byte batches and conflict rebase: about 4 KiB), plus
# issue 16's first sync (the seal worker, js/core/seal-worker.js, and the pipelined pull
# pages in db.js: about 4.5 KiB; main was already at 101 KiB, over 96, when it came), plus
# the caseload worked out in steps, the seal worker's timeout and the caseload index in
# modules of its own (js/case-index.js, js/index-format.js): about 1 KiB, plus the
# router's guard against overtaken navigations and the redraw held under a finger (ui.js):
# about 0.5 KiB.
BUDGET = 110 * 1024
GZIP = {"Accept-Encoding": "gzip"}


def _shell_urls(client) -> list[str]:
    body = client.get("/sw.js").get_data(as_text=True)
    return ["/sw.js", *json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))]


def test_app_shell_is_under_budget(client):
    sizes = {url: len(client.get(url, headers=GZIP).get_data()) for url in _shell_urls(client)}
    total = sum(sizes.values())
    biggest = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    assert total < BUDGET, f"app shell is {total} bytes to download; biggest {biggest}"


def test_text_files_go_out_compressed_and_revalidate(client):
    for url in ["/", "/js/app.js", "/app.css", "/sw.js", "/js/core/spec.js"]:
        plain = client.get(url)
        packed = client.get(url, headers=GZIP)
        assert packed.headers["Content-Encoding"] == "gzip", url
        assert gzip.decompress(packed.get_data()) == plain.get_data(), url
        assert len(packed.get_data()) < len(plain.get_data()), url
        assert "Accept-Encoding" in packed.headers["Vary"], url
        assert packed.headers["Cache-Control"] == "no-cache", url
        assert packed.headers["ETag"] != plain.headers["ETag"], url
        again = client.get(url, headers={**GZIP, "If-None-Match": packed.headers["ETag"]})
        assert again.status_code == 304, url
    assert "Content-Encoding" not in client.get("/icons/icon-192.png", headers=GZIP).headers
    assert client.get("/../pyproject.toml", headers=GZIP).status_code == 404


def test_index_has_no_inline_script_or_style(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and "<style" not in html
    for path in STATIC_DIR.rglob("*.js"):
        text = path.read_text()
        assert "innerHTML" not in text and ".style." not in text, path
        assert "http://" not in text and "https://" not in text, path  # no CDN


def test_manifest_is_installable(client):
    response = client.get("/manifest.webmanifest")
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/")
    assert manifest["theme_color"] and manifest["name"] == "Outreach"
    sizes = {(i["sizes"], i.get("purpose", "any")) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_service_worker_lists_the_shell_and_its_hash(client):
    response = client.get("/sw.js")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "__SHELL_VERSION__" not in body and "__SHELL_FILES__" not in body
    files = json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))
    assert "/" in files and "/js/app.js" in files and "/app.css" in files
    assert "/icons/icon-192.png" in files and "/manifest.webmanifest" in files
    assert not any(f.startswith("/api/") for f in files)
    for url in files:
        assert client.get(url).status_code == 200, url
    etag = response.headers["ETag"]
    assert client.get("/sw.js", headers={"If-None-Match": etag}).status_code == 304


def test_any_static_change_changes_the_service_worker(app, client, tmp_path, monkeypatch):
    copy = tmp_path / "static"
    shutil.copytree(STATIC_DIR, copy)
    monkeypatch.setitem(app.config, "PWA_STATIC_DIR", str(copy))
    before = client.get("/sw.js").get_data(as_text=True)
    assert client.get("/sw.js").get_data(as_text=True) == before
    css = copy / "app.css"
    css.write_text(css.read_text() + "\n/* deploy 2 */\n")
    after = client.get("/sw.js").get_data(as_text=True)
    assert after != before
    version = re.search(r"const VERSION = '([0-9a-f]+)'", after).group(1)
    assert version not in before


def test_api_paths_are_not_served_from_static(client):
    assert client.get("/api/nothing-here").status_code == 404
