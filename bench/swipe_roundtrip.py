"""The swipe round trip (POST /swipe/ and the next card it returns) under gunicorn on Postgres.

    python -m bench.swipe_roundtrip [--concurrency 8] [--duration 15] [--warmup 3] [--procs 2]

Starts gunicorn on a free loopback port, then drives it with C virtual users (keep-alive http.client
connections, each user with its own session and CSRF cookie) spread over a few load-generator processes so
the client's GIL is not the limit. Scenarios, each a warm-up then a fixed measured duration:

  swipe            a first round: GET / once, then POST /swipe/ with the card's photo id, like or dislike
                   at random, HX-Request set, and continue with the photo id of the card that comes back
                   (POST /reshuffle/ when the round ends)
  swipe-reshuffled the same after one POST /reshuffle/, so the queue order is permuted by a salt
  healthz          GET /livez/: a trivial Django view on the same stack, the yardstick for the ratio
                   (the scenario keeps its name; /healthz/ itself now asks the database and the broker)

It prints a markdown table (also written to bench/results/swipe_roundtrip.md) with req/s, p50 and p99 and
the ratio swipe req/s / healthz req/s, against the targets. It then checks the server's state for every
bench profile: swipe_count equals the live Swipe rows, and the stored scores equal a replay of the log.

Profiles, swipes and sessions in the bench database are wiped before the run (the database name must
contain "bench"), so every run starts from the same state.
"""

import argparse
import datetime
import os
import re
import subprocess
import sys

from bench import ROOT, publish, setup_django
from bench.http_load import Result, run_scenario, run_wrk
from bench.server_harness import free_port, start_gunicorn, stop, wait_for_healthz

DEFAULT_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/cityvibes_bench",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/4",
    "CONN_MAX_AGE": "60",
    "MEDIA_ROOT": str(ROOT / "var" / "bench-media"),
}
SCENARIOS = ("swipe", "swipe-reshuffled", "healthz")
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
PHOTO_RE = re.compile(rb'name="photo" value="(\d+)"')
HOST = "127.0.0.1"


# --- correctness of what the run left behind -------------------------------------------------------------


def check_profiles(results: list[Result]) -> tuple[bool, list[str]]:
    import numpy as np

    from swipes.engine import engine_for
    from swipes.selectors import profile_for_visitor_cookie, replayed_state

    problems, checked = [], 0
    for result in results:
        for user in result.users:
            if result.scenario.startswith("healthz") or not user.get("visitor"):
                continue
            profile = profile_for_visitor_cookie(user["visitor"])
            if profile is None:  # this user's swipes all failed
                problems.append(f"{result.scenario}: a user with {user['swipes_ok']} OKs has no profile")
                continue
            live = profile.swipes.live().count()
            replayed = replayed_state(profile, profile.scores_model)
            stored = engine_for(profile.scores_model).load_state(profile.scores)
            checked += 1
            name = f"{result.scenario} profile #{profile.pk}"
            if profile.swipe_count != live:
                problems.append(f"{name}: swipe_count {profile.swipe_count} but {live} live swipes")
            if profile.swipe_count != user["swipes_ok"]:
                problems.append(
                    f"{name}: swipe_count {profile.swipe_count}, client got {user['swipes_ok']} OKs"
                )
            if not np.array_equal(stored, replayed):
                diff = float(np.max(np.abs(stored - replayed)))
                problems.append(f"{name}: the stored state differs from the replay by up to {diff:g}")
    return not problems and checked > 0, [f"{checked} profiles checked", *problems]


def wipe_profiles() -> None:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or "bench" not in name:
        raise SystemExit(f"refusing to wipe profiles in database {name!r}: not a bench database")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE swipes_swipe, swipes_userprofile CASCADE")  # and what hangs off profiles


# --- the report -----------------------------------------------------------------------------------------


def mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def queries_per_swipe(samples: int = 5) -> tuple[int, list[str]]:
    """Database queries in one swipe round trip (POST /swipe/ with HX-Request, next card included),
    counted in this process with Django's test client on the same database. Returns the most common count
    over a few swipes and the SQL of the last one."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    photo = int(PHOTO_RE.search(client.get("/").content).group(1))
    counts, sql = [], []
    for i in range(samples):
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/swipe/", {"photo": photo, "liked": str(i % 2)}, HTTP_HX_REQUEST="true")
        photo = int(PHOTO_RE.search(response.content).group(1))
        counts.append(len(captured))
        sql = [q["sql"] for q in captured.captured_queries]
    return max(set(counts), key=counts.count), sql


def report(results, args, consistent, notes, photos, cities, queries) -> str:
    by_name = {r.scenario: r for r in results}
    lines = [
        f"## Swipe round trip ({datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
        f"commit {_git_head()})",
        "",
        "| scenario | concurrency | requests | req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.scenario} | {r.concurrency} | {r.requests} | {r.rps:.0f} | "
            f"{r.percentile_ms(0.5):.1f} | {r.percentile_ms(0.99):.1f} |"
        )
    lines.append("")
    trivial, wrk = by_name.get("healthz"), by_name.get("healthz (wrk)")
    for r in results:
        if r.scenario.startswith("healthz"):
            continue
        p99 = r.percentile_ms(0.99)
        line = f"- {r.scenario}: p99 {p99:.1f} ms (target < {TARGET_P99_MS:.0f} ms) **{mark(p99 < TARGET_P99_MS)}**"
        if trivial and trivial.rps:
            ratio = r.rps / trivial.rps
            line += (
                f"; ratio {r.scenario} req/s ÷ healthz req/s = {r.rps:.0f} / {trivial.rps:.0f} = "
                f"**{ratio:.2f}** (target ≥ {TARGET_RATIO}) **{mark(ratio >= TARGET_RATIO)}**"
            )
            if wrk and wrk.rps:
                line += f" (against wrk's healthz figure: {r.rps / wrk.rps:.2f})"
        lines.append(line)
    lines.append(f"- scores consistent: **{'yes' if consistent else 'no'}** ({'; '.join(notes)})")
    if queries is not None:
        lines.append(f"- database queries per swipe round trip: {queries}")
    lines.append("")
    server = f"gunicorn vibes_site.wsgi, {args.workers} {args.worker_class} workers"
    if args.worker_class == "gthread":
        server += f" × {args.threads} threads"
    lines += [
        f"Server: {server}, DEBUG off, Postgres (CONN_MAX_AGE={os.environ.get('CONN_MAX_AGE')}), "
        f"{photos} photos over {cities} cities under the label-only model. "
        f"Load: {args.procs} Python processes of keep-alive http.client users on loopback"
        + (", and wrk for the healthz (wrk) row" if wrk else "")
        + f"; {args.warmup:g} s warm-up then {args.duration:g} s measured per scenario. "
        "A swipe request is timed from sending POST /swipe/ to the end of the card it returns.",
        "",
        f"Caveat: the load generator runs on the same {os.cpu_count()} cores as gunicorn and Postgres, and "
        "competes with them (and with anything else running on the machine). CPU seconds per second during "
        "each measured window:",
        "",
        "| scenario | load generator | gunicorn | Postgres | whole machine busy | errors | reconnects |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        reconnects = sum(u["reconnects"] for u in r.users)
        lines.append(
            f"| {r.scenario} | {r.client_cpu:.2f} | {r.server_cpu:.2f} | {r.db_cpu:.2f} | "
            f"{100 * r.machine_busy:.0f}% of {os.cpu_count()} cores | {len(r.errors)} | {reconnects} |"
        )
    errors = [e for r in results for e in r.errors]
    if errors:
        lines += ["", "Errors (first 5): " + "; ".join(errors[:5])]
    return "\n".join(lines) + "\n"


def _git_head() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
        return head + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", "-c", type=int, default=8, help="virtual users (default 8)")
    parser.add_argument("--duration", type=float, default=15, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before each scenario")
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated: {SCENARIOS}")
    parser.add_argument("--keep-profiles", action="store_true", help="do not wipe earlier bench profiles")
    parser.add_argument("--wrk", action="store_true", help="also drive /healthz/ with wrk (if installed)")
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of one swipe round trip")
    args = parser.parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := set(scenarios) - set(SCENARIOS):
        parser.error(f"unknown scenarios: {sorted(unknown)}")

    for key, value in DEFAULT_ENV.items():
        os.environ.setdefault(key, value)
    setup_django()
    from django.db import connections

    from cities.models import Photo
    from mlworker.selectors import active_model

    if active_model() is None or not Photo.objects.exists():
        raise SystemExit("no photos or no active model: build the bench set first (python -m bench.data)")
    photos = Photo.objects.filter(status=Photo.Status.ACTIVE).count()
    cities = Photo.objects.values("city").distinct().count()
    if not args.keep_profiles:
        wipe_profiles()
    connections.close_all()  # the load processes are forked: they must not share this connection

    port = free_port()
    server = start_gunicorn(port, args.workers, args.worker_class, args.threads)
    results = []
    try:
        wait_for_healthz(port, server)
        for scenario in scenarios:
            print(
                f"… {scenario}: {args.concurrency} users, {args.warmup:g} s + {args.duration:g} s", flush=True
            )
            results.append(
                run_scenario(
                    scenario, port, server.pid, args.concurrency, args.procs, args.warmup, args.duration
                )
            )
        if args.wrk and "healthz" in scenarios:
            print(f"… healthz with wrk: {args.concurrency} connections", flush=True)
            if wrk := run_wrk(port, server.pid, args.concurrency, args.warmup, args.duration):
                results.append(wrk)
            else:
                print("  (wrk is not installed: skipped)")
    finally:
        stop(server)

    consistent, notes = check_profiles(results)
    queries, sql = queries_per_swipe() if any(s.startswith("swipe") for s in scenarios) else (None, [])
    if args.show_queries:
        print(f"\nThe {len(sql)} queries of one swipe round trip:")
        for number, statement in enumerate(sql, start=1):
            print(f"{number:3}. {statement[:160]}")
    table = report(results, args, consistent, notes, photos, cities, queries)
    print()
    publish("swipe_roundtrip", table)
    return 0 if consistent else 1


if __name__ == "__main__":
    sys.exit(main())
