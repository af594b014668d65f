"""Unlock and save bench (issues 16 and 19): the steps after the first sync, encrypted and
not, on one loaded phone per run.

Not a test: it prints. It reuses bench/phone_bench.py's server, team loader, phone and
in-page timers (times from the input event to the first frame where the step's condition
holds), and times, at `--throttle`x, offline:

    unlock            Unlock tapped -> caseload usable (the saved index current)
    open a client, Record intervention -> form ready, Save -> "Intervention saved."
    unlock, stale     reload after the save (the index saved before it, a delta since)
                      -> Unlock -> caseload usable
    pbkdf2            the PIN's key derivation alone (vault.checkPin), in the page

each run on a fresh profile, alternating the encrypted store and the plain one
(bench/phone_bench.py's `plainStore`), medians side by side with their ratio.

    .venv/bin/python bench/unlock_bench.py --clients 1000 --interventions 4000 --runs 3
    .venv/bin/python bench/unlock_bench.py --workdir /tmp/ub5000   # keeps the loaded team
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import phone_bench as pb

STEPS = [
    ("first sync (not a target here)", "first_sync"),
    ("reload -> lock screen ready", "offline_lock"),
    ("Unlock -> caseload usable", "unlock"),
    ("  of which the PIN's key (PBKDF2, alone)", "pbkdf2"),
    ("open a client", "open_client"),
    ("Record intervention -> form ready", "record_form"),
    ('Save -> "Intervention saved."', "save"),
    ("Unlock after the save (stale index) -> caseload usable", "unlock_stale"),
    ("longest task, Unlock -> usable", "longest_unlock"),
    ("longest task, client -> save", "longest_steps"),
    ("longest task, stale unlock", "longest_stale"),
]


# First sync done: the caseload shows a count and the sync line says all synced, no sync
# running (bench/phone_bench.py's condition, without a fixed count).
SYNCED = pb.Condition(
    "caseload counted and the first sync finished",
    f"""() => {{
      const count = ({pb.CASELOAD_COUNT_JS})();
      const state = document.getElementById('sync-state')?.textContent || '';
      const last = document.getElementById('last-sync')?.textContent || '';
      return ({pb.HEADING_JS})() === 'Caseload' && !!count && count.shown === count.total
        && state.includes('All changes synced') && last.includes('Synced ')
        && !last.includes('Syncing');
    }}""",
)


def reopen(phone, clients: int, timeout: float) -> dict:
    page = phone.page
    locked = pb.lock_screen_ready()
    page.add_init_script(
        f"window.__bench.watch({locked.js}, {json.dumps(locked.arg)});"
        "window.__bench.reloaded = true;"
    )
    page.evaluate("() => { location.hash = '#/caseload'; }")  # the app reopens where it was
    page.reload(wait_until="commit")
    phone.throttle_cpu()
    page.wait_for_function(
        "() => window.__bench && window.__bench.reloaded", timeout=timeout * 1000
    )
    pb.wait_done(page, locked, timeout)
    lock_at = page.evaluate("() => window.__bench.doneAt") / 1000
    step = pb.timed_step(page, pb.caseload_usable(clients), lambda: pb.unlock(page), timeout)
    return {"lock": lock_at, **step}


def run(playwright, base_url: str, plain: bool, clients: int, args) -> dict:
    phone = pb.new_phone(playwright, args.throttle, False)
    page = phone.page
    out: dict = {}
    try:
        if plain:
            page.add_init_script(pb.PLAIN_STORE_JS)
        pb.open_sign_in(page, base_url)
        pb.fill_sign_in(page, pb.BIG.email, pb.DEMO_PASSWORD)
        step = pb.timed_step(page, SYNCED, lambda: pb.submit_sign_in(page), 900)
        out["first_sync"] = step["seconds"]
        # The caseload lists the team's clients (not another team's shared ones the phone
        # also pulled): its own count is the one every later step waits for.
        clients = None
        for _ in range(20):  # until the count holds (the list redraws after the sync's end)
            page.wait_for_timeout(1500)
            now = page.evaluate(f"() => ({pb.CASELOAD_COUNT_JS})().total")
            if now == clients:
                break
            clients = now
        page.wait_for_function("() => !!navigator.serviceWorker.controller", timeout=60_000)
        pb.settle(page)
        phone.go_offline()
        opened = reopen(phone, clients, args.step_timeout)
        out["offline_lock"], out["unlock"], out["longest_unlock"] = (
            opened["lock"],
            opened["seconds"],
            opened["longest_task"],
        )
        out["pbkdf2"] = page.evaluate(
            """async (pin) => { const t = performance.now();
               await self.Outreach.vault.checkPin(pin); return (performance.now() - t) / 1000; }""",
            pb.BENCH_PIN,
        )
        longest = []
        for name, cond, act in (
            ("open_client", pb.client_page_shown(), lambda: pb.open_first_client(page)),
            ("record_form", pb.record_form_ready(), lambda: pb.open_record_form(page)),
        ):
            step = pb.timed_step(page, cond, act, args.step_timeout)
            out[name] = step["seconds"]
            longest.append(step["longest_task"])
        pb.fill_intervention(page)
        step = pb.timed_step(page, pb.intervention_saved(), lambda: pb.tap_save(page), 60)
        out["save"] = step["seconds"]
        longest.append(step["longest_task"])
        out["longest_steps"] = max(longest)
        pb.settle(page)
        opened = reopen(phone, clients, args.step_timeout)
        out["unlock_stale"], out["longest_stale"] = opened["seconds"], opened["longest_task"]
        out["errors"] = list(phone.errors)
        return out
    finally:
        phone.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--interventions", type=int, default=20000)
    parser.add_argument("--throttle", type=float, default=6)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--step-timeout", type=float, default=120)
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) the loaded database here")
    parser.add_argument("--only", choices=["encrypted", "plain"], help="one store only")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="unlock-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    keys_file = workdir / "keys.json"
    if keys_file.exists():
        keys = json.loads(keys_file.read_text())
    else:
        keys = {
            name: secrets.token_hex(32)
            for name in ("OUTREACH_SECRET_KEY", "OUTREACH_JWT_SECRET", "OUTREACH_MATCH_KEY_SECRET")
        }
        keys_file.write_text(json.dumps(keys))
    port = pb.free_port()
    env = pb.server_env(f"sqlite:///{workdir / 'outreach.db'}", port, keys)
    marker = workdir / "loaded.json"
    want = {"clients": args.clients, "interventions": args.interventions, "seed": args.seed}
    loaded = marker.exists() and json.loads(marker.read_text()) == want
    if not loaded:
        (workdir / "outreach.db").unlink(missing_ok=True)
        pb.flask_cli(env, "db", "upgrade")
        pb.flask_cli(env, "outreach", "demo")
    server = pb.start_server(env, port, workdir / "server.log")
    results: dict[str, list[dict]] = {"encrypted": [], "plain": []}
    try:
        base_url = f"http://127.0.0.1:{port}"
        if not loaded:
            pb.load_big_team(port, args.clients, args.interventions, args.seed)
            marker.write_text(json.dumps(want))
        scope = pb.phone_scope(port, pb.BIG.email)
        pb.log(f"a phone holds {scope['clients']:,} clients, {scope['interventions']:,} ivs")
        modes = [args.only] if args.only else ["encrypted", "plain"]
        with sync_playwright() as playwright:
            for n in range(1, args.runs + 1):
                for mode in modes:
                    pb.log(f"run {n}/{args.runs}, {mode}")
                    r = run(playwright, base_url, mode == "plain", scope["clients"], args)
                    results[mode].append(r)
                    figures = [f"{k} {v:.2f}" for k, v in r.items() if isinstance(v, float)]
                    pb.log("  " + ", ".join(figures))
                    for e in r["errors"]:
                        pb.log(f"  page error: {e}")
    finally:
        pb.stop_server(server)
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    def med(mode: str, key: str):
        values = [r[key] for r in results[mode] if r.get(key) is not None]
        return statistics.median(values) if values else None

    print()
    print(
        f"Unlock bench: {scope['clients']:,} clients, {scope['interventions']:,} interventions, "
        f"CPU {args.throttle:g}x, {args.runs} runs, {time.strftime('%H:%M')} UTC"
    )
    print("| step (median) | encrypted | not encrypted | ratio |")
    print("|---|---|---|---|")
    for label, key in STEPS:
        e, p = med("encrypted", key), med("plain", key)
        ratio = f"{e / p:.2f}x" if e is not None and p and not key.startswith("longest") else "-"
        fe = "-" if e is None else f"{e:.2f} s"
        fp = "-" if p is None else f"{p:.2f} s"
        print(f"| {label} | {fe} | {fp} | {ratio} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
