"""The run's figures: requests/s, p50/p95/p99 per kind, CPU per request, active phones
per CPU (beside the Community Health Toolkit's published 288 active users per CPU), and
whether every record made was stored exactly once."""

from __future__ import annotations

import statistics
import uuid

from bench.fleet.phone import Stats

CHT_USERS_PER_CPU = 288
UNTIMED = {"drain push"}  # after the clock: not part of the day's latency


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def latency_row(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": round(percentile(values, 50) * 1000, 1),
        "p95": round(percentile(values, 95) * 1000, 1),
        "p99": round(percentile(values, 99) * 1000, 1),
        "max": round(max(values) * 1000, 1) if values else float("nan"),
        "mean": round(statistics.fmean(values) * 1000, 1) if values else float("nan"),
    }


def count_stored(url: str, stats: Stats) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    counts = {}
    with engine.connect() as conn:
        for entity in ("client", "intervention"):
            ids = [uuid.UUID(i) for i in stats.acknowledged[entity]]
            stored = conn.execute(
                text(f"SELECT count(*), count(DISTINCT id) FROM {entity} WHERE id = ANY(:ids)"),
                {"ids": ids},
            ).one()
            # Everything phones made (the caseload loaded at setup has no created_by).
            made = conn.execute(
                text(f"SELECT count(*) FROM {entity} WHERE created_by_id IS NOT NULL")
                if entity == "client"
                else text("SELECT count(*) FROM intervention")
            ).scalar_one()
            counts[entity] = {
                "acknowledged": len(ids),
                "stored": stored[0],
                "distinct": stored[1],
                "in_database": made,
            }
    engine.dispose()
    return counts


def summarise(stats: Stats, elapsed: float, cpu: dict, counts: dict, meta: dict) -> dict:
    timed = {k: v for k, v in stats.latency.items() if k not in UNTIMED}
    requests = sum(len(v) for v in timed.values())
    everything = [x for v in timed.values() for x in v]
    acknowledged = sum(c["acknowledged"] for c in counts.values())
    exact = (
        all(
            c["stored"] == c["distinct"] == c["acknowledged"] == c["in_database"]
            for c in counts.values()
        )
        and acknowledged == stats.made
        and stats.rejected == 0
    )
    server_cpu = cpu["web"] + cpu["database"]
    cores = server_cpu / elapsed if elapsed else float("nan")
    phones = meta["phones"] * meta["compress"]
    summary = {
        **meta,
        "phone_equivalents": phones,
        "elapsed_s": round(elapsed, 1),
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1) if elapsed else 0,
        "errors": stats.error_count,
        "records_made": stats.made,
        "rejected": stats.rejected,
        "pulled_changes": stats.pulled,
        "latency_ms": {k: latency_row(v) for k, v in sorted(timed.items())},
        "cpu_s": cpu,
        "cpu_ms_per_request": {
            k: round(cpu[k] / max(requests, 1) * 1000, 2)
            for k in ("web", "database", "load generator")
        },
        "server_cores_used": round(cores, 3),
        # Phones one core serves at this mix; meaningful only when the generator kept
        # time (a starved server does less work than the day asks, and looks cheap).
        "active_phones_per_cpu": round(phones / cores) if cores else None,
        "cht_active_users_per_cpu": CHT_USERS_PER_CPU,
        "generator_lag_ms": latency_row(stats.lag),
        "stored": counts,
        "exactly_once": exact,
    }
    summary["latency_ms"]["all"] = latency_row(everything)
    summary["passed"] = bool(
        exact
        and not stats.error_count
        and summary["latency_ms"]["all"]["p99"] < meta.get("p99_target_ms", 500)
    )
    summary["generator_saturated"] = summary["generator_lag_ms"]["p99"] > 100
    return summary


def print_summary(s: dict, errors: list[str]) -> None:
    print(
        f"\n{s['phones']} phones x compress {s['compress']:g} (= {s['phone_equivalents']} at a "
        f"worker's pace) on {s['servers']} server(s), {s['minutes']:g} simulated minutes in "
        f"{s['elapsed_s']} s: {s['requests']} requests, {s['requests_per_s']} requests/s"
    )
    print(f"{'kind':13} {'n':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind, row in s["latency_ms"].items():
        cells = " ".join(f"{row[k]:>8}" for k in ("p50", "p95", "p99", "max"))
        print(f"{kind:13} {row['n']:>7} {cells}")
    cpu = s["cpu_s"]
    print(
        f"CPU s: web {cpu['web']} (recycled workers included), database {cpu['database']} "
        f"(this database's backends), load generator {cpu['load generator']}; per request "
        f"{s['cpu_ms_per_request']} ms"
    )
    caveat = " (NOT reliable: the day fell behind, see lag)" if s["generator_saturated"] else ""
    print(
        f"server cores used {s['server_cores_used']}: {s['active_phones_per_cpu']} active phones "
        f"per CPU{caveat} (the Community Health Toolkit publishes {s['cht_active_users_per_cpu']} "
        "active users per CPU)"
    )
    print(
        f"machine: {cpu['machine_busy_share']:.0%} of all cores busy over the run, "
        f"{cpu['machine_steal_share']:.0%} stolen (other work on the machine makes figures noisy)"
    )
    lag = s["generator_lag_ms"]
    note = " - SATURATED: latencies understate" if s["generator_saturated"] else ""
    print(f"generator lag p50 {lag['p50']} ms, p99 {lag['p99']} ms{note}")
    for entity, c in s["stored"].items():
        print(
            f"{entity:13} acknowledged {c['acknowledged']}, stored {c['stored']} "
            f"(distinct {c['distinct']}), made by phones in database {c['in_database']}"
        )
    print(
        f"records made {s['records_made']}, errors {s['errors']}, rejected {s['rejected']}, "
        f"exactly once: {s['exactly_once']}; p99 < {s['p99_target_ms']:g} ms and clean: "
        f"{s['passed']}"
    )
    for line in errors[:10]:
        print("  ", line)
