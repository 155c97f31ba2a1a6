"""Growth benchmark: the swipe path at 5k / 20k / 50k photos under a synthetic CNN (bench.data --cnn).

    python -m bench.scale [--sizes 5000,20000,50000] [--duration 12] [--profiles 10000,100000]

Per size: the derive job's time, a web process's engine load time and RSS (from the stored artifact, and
the old way: derived in process), gunicorn 2 workers x 4 threads on vibes_site.settings.bench: first swipe
after start, closed-loop swipes (4 users) and the P1 anchor view (bench/views.py), open-loop swipes at half
the closed-loop rate, swipes while a concurrent process adds photos with vectors and derives new revisions,
worker RSS. Then, once (bench/scale_rescore.py): the rescore job's time over 10k and 100k profiles with
20 swipes each, with swipes recorded meanwhile, and the query plans of the swipe path at 2M swipe rows.
Prints markdown tables (bench/results/scale.md).
"""

import argparse
import hashlib
import json
import math
import os
import queue
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench import ROOT, publish, setup_django
from bench.http_load import Result, VirtualUser, run_scenario
from bench.scale_rescore import report_lines, rescore_and_plans
from bench.server_harness import free_port, start_gunicorn, stop, wait_for_healthz

CONCURRENCY = 4
ALTERNATING_ROUNDS = 3  # swipe and anchor runs take turns this many times (swipe_and_anchor)
LOAD_SNIPPET = """
import json, resource, time
started = time.perf_counter()
from bench import setup_django
setup_django()
from mlworker.selectors import active_model, catalogue_stamp
from swipes import engine
version = active_model()
django_ready = time.perf_counter()
if {scratch}:
    built = engine._build(version, catalogue_stamp(version))
else:
    built = engine.engine_for(version)
loaded = time.perf_counter()
import numpy as np
state = built.scorer.initial_state()
for i in range(20):
    state = built.scorer.update(state, i, i % 2 == 0)
built.policy.choose(built.scorer, state, np.zeros(built.photo_ids.size, bool), np.random.default_rng(0))
rss = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024
print(json.dumps({{"load_s": loaded - django_ready, "rss_mb": rss}}))
"""


def measure_engine_load(scratch: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", LOAD_SNIPPET.format(scratch=scratch)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def worker_rss_mb(server) -> float:
    """The largest resident set among gunicorn's workers."""
    children = []
    for task in os.listdir(f"/proc/{server.pid}/task"):
        children += open(f"/proc/{server.pid}/task/{task}/children").read().split()
    sizes = []
    for pid in children:
        try:
            status = open(f"/proc/{pid}/status").read()
            sizes.append(int(status.split("VmRSS:")[1].split()[0]) / 1024)
        except OSError:
            pass
    return max(sizes, default=float("nan"))


def first_swipe_seconds(port: int, server, started: float) -> float:
    wait_for_healthz(port, server)
    user = VirtualUser(port, seed=999)
    user.setup("swipe")
    user.step("swipe")
    return time.monotonic() - started


def open_loop(port: int, rate: float, duration: float, users: int = 16) -> list[float]:
    """Swipes sent at a fixed rate whatever the answers; latency counts from the scheduled send time, so a
    queue building up shows (closed-loop clients would slow down instead)."""
    idle: queue.Queue = queue.Queue()
    for seed in range(users):
        user = VirtualUser(port, seed=10_000 + seed)
        user.setup("swipe")
        idle.put(user)
    latencies: list[float] = []

    def send(scheduled: float):
        user = idle.get()
        try:
            user.between("swipe")
            if user.step("swipe"):
                latencies.append(time.perf_counter() - scheduled)
        finally:
            idle.put(user)

    start = time.perf_counter() + 0.2
    with ThreadPoolExecutor(max_workers=users) as pool:
        for k in range(int(rate * duration)):
            scheduled = start + k / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, scheduled)
    return latencies


def swipe_and_anchor(port: int, server_pid: int, args) -> tuple[Result, Result]:
    """Closed-loop swipes and anchor writes, in alternating rounds: the box is shared (the load generator,
    Postgres, other people's work), and a busy moment then weighs on both sides of the ratio alike."""
    rounds = {"swipe": [], "anchor": []}
    for _ in range(ALTERNATING_ROUNDS):
        for scenario, results in rounds.items():
            duration = args.duration / ALTERNATING_ROUNDS
            results.append(run_scenario(scenario, port, server_pid, CONCURRENCY, 1, args.warmup, duration))
    return pooled(rounds["swipe"]), pooled(rounds["anchor"])


def pooled(results: list[Result]) -> Result:
    """One result from several rounds of a scenario: every latency, the whole duration, mean CPU rates."""
    duration = sum(r.duration for r in results)

    def mean(rate: str) -> float:
        return sum(getattr(r, rate) * r.duration for r in results) / duration

    return Result(
        scenario=results[0].scenario,
        concurrency=results[0].concurrency,
        latencies=[x for r in results for x in r.latencies],
        duration=duration,
        client_cpu=mean("client_cpu"),
        server_cpu=mean("server_cpu"),
        db_cpu=mean("db_cpu"),
        machine_busy=mean("machine_busy"),
        users=[u for r in results for u in r.users],
    )


def cpu_ms_per_request(result: Result) -> tuple[float, float]:
    """(gunicorn's, Postgres's) CPU milliseconds per request: what a request costs, whatever else ran."""
    return 1000 * result.server_cpu / result.rps, 1000 * result.db_cpu / result.rps


def percentile_ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def add_vectors_for(seconds: float, batch: int = 100) -> None:
    """(Run as a separate process.) Add photos with vectors and derive a new revision, over and over."""
    setup_django()
    import numpy as np

    from bench.cnn_data import add_vectors
    from bench.data import SHARED_IMAGE
    from cities.models import Photo, new_queue_key
    from mlworker.selectors import active_model
    from swipes.catalogue_store import derive_and_store

    version = active_model()
    end, round_ = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        round_ += 1
        rows = Photo.objects.bulk_create(
            Photo(
                city_id=version.city_ids[i % version.n_cities],
                image=SHARED_IMAGE,
                sha256=hashlib.sha256(f"added:{os.getpid()}:{round_}:{i}".encode()).hexdigest(),
                queue_key=new_queue_key(),
                source="bench-added",
            )
            for i in range(batch)
        )
        add_vectors(version, [p.pk for p in rows], np.arange(batch) % version.n_cities, seed=round_)
        derive_and_store(version)
        time.sleep(0.5)
    print(json.dumps({"rounds": round_}))


def measure_size(n_photos: int, args) -> dict:
    from django.db import connections

    from bench.data import build
    from bench.swipe_roundtrip import wipe_profiles
    from cities.models import Photo

    row = {"photos": n_photos}
    wipe_profiles()  # swipes protect their photos: the previous size's must go first
    Photo.objects.filter(source="bench-added").delete()  # left by the previous size's adder
    summary = build(photos=n_photos, cities=266, cnn=True, log=lambda *_: None)
    row["derive_s"] = summary["timings"]["derive"]
    connections.close_all()
    row["artifact"] = measure_engine_load(scratch=False)
    row["scratch"] = measure_engine_load(scratch=True)

    port = free_port()
    started = time.monotonic()
    server = start_gunicorn(port, 2, "gthread", 4, settings="vibes_site.settings.bench")
    try:
        row["first_swipe_s"] = first_swipe_seconds(port, server, started)
        swipe, anchor = swipe_and_anchor(port, server.pid, args)
        row["swipe"] = (swipe.rps, swipe.percentile_ms(0.5), swipe.percentile_ms(0.99))
        row["anchor"] = (anchor.rps, anchor.percentile_ms(0.5), anchor.percentile_ms(0.99))
        row["cpu_ms"] = (cpu_ms_per_request(swipe), cpu_ms_per_request(anchor))
        row["errors"] = len(swipe.errors) + len(anchor.errors)
        half = swipe.rps / 2
        lat = open_loop(port, half, args.duration)
        row["open_loop"] = (half, percentile_ms(lat, 0.5), percentile_ms(lat, 0.99))
        adder = subprocess.Popen(
            [sys.executable, "-m", "bench.scale", "--add-vectors", str(args.warmup + args.duration)], cwd=ROOT
        )
        during = run_scenario("swipe", port, server.pid, CONCURRENCY, 1, args.warmup, args.duration)
        adder.wait()
        row["during_add"] = (during.rps, during.percentile_ms(0.99), 1000 * max(during.latencies, default=0))
        row["worker_rss_mb"] = worker_rss_mb(server)
    finally:
        stop(server)
    return row


def _cpu(web_and_db: tuple[float, float]) -> str:
    web, db = web_and_db
    return f"{web:.1f} + {db:.1f}"


def report(rows: list[dict], rescore: dict | None, args) -> str:
    lines = [
        "## Growth benchmark (bench/scale.py)",
        "",
        f"Synthetic CNN, 266 cities, 1,280-d embeddings; gunicorn 2 workers x 4 threads (gthread), Postgres; "
        f"{CONCURRENCY} closed-loop users, {args.duration:g} s measured per scenario (swipe and anchor in "
        f"{ALTERNATING_ROUNDS} alternating rounds, each after {args.warmup:g} s of warm-up); "
        "the load generator shares the machine's cores.",
        "",
        "| photos | derive job | engine load (artifact) | RSS (artifact) | engine build (in process) "
        "| RSS (in process) | first swipe after start | worker RSS | swipe req/s | p50 | p99 "
        "| anchor req/s | ratio | CPU ms per request, swipe / anchor (web + db) "
        "| open-loop @ half: p50 / p99 | while adding vectors: req/s, p99, max |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s, a, o, d = r["swipe"], r["anchor"], r["open_loop"], r["during_add"]
        lines.append(
            f"| {r['photos']:,} | {r['derive_s']:.1f} s | {r['artifact']['load_s']:.2f} s "
            f"| {r['artifact']['rss_mb']:.0f} MB | {r['scratch']['load_s']:.2f} s | {r['scratch']['rss_mb']:.0f} MB "
            f"| {r['first_swipe_s']:.1f} s | {r['worker_rss_mb']:.0f} MB | {s[0]:.0f} | {s[1]:.0f} ms "
            f"| {s[2]:.0f} ms | {a[0]:.0f} | {s[0] / a[0]:.2f} | {_cpu(r['cpu_ms'][0])} / {_cpu(r['cpu_ms'][1])} "
            f"| {o[0]:.0f}/s: {o[1]:.0f} / {o[2]:.0f} ms "
            f"| {d[0]:.0f}, {d[1]:.0f} ms, {d[2]:.0f} ms |"
        )
    if rescore:
        lines += report_lines(rescore)
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SCALE_SIZES", "5000,20000,50000"))
    parser.add_argument("--duration", type=float, default=12)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument(
        "--profiles",
        default=os.environ.get("BENCH_SCALE_PROFILES", "10000,100000"),
        help="profile counts for the rescore runs ('' or 0: none)",
    )
    parser.add_argument("--swipes-per-profile", type=int, default=20)
    parser.add_argument("--add-vectors", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.add_vectors:
        add_vectors_for(args.add_vectors)
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vibes_site.settings.local")
    setup_django()
    rows = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        print(f"… {size} photos", flush=True)
        rows.append(measure_size(size, args))
        print(json.dumps(rows[-1]), flush=True)
    counts = [int(n) for n in args.profiles.split(",") if n.strip() and int(n)]
    rescore = rescore_and_plans(counts, args.swipes_per_profile) if counts else None
    publish("scale", report(rows, rescore, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
