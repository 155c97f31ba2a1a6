"""The swipe round trip (POST /swipe/ and the next card it returns) under gunicorn on Postgres.

    python -m bench.swipe_roundtrip [--concurrency 8] [--duration 15] [--warmup 3] [--procs 2]

Starts gunicorn on a free loopback port, then drives it with C virtual users (keep-alive http.client
connections, each user with its own session and CSRF cookie) spread over a few load-generator processes so
the client's GIL is not the limit. Scenarios, each a warm-up then a fixed measured duration:

  swipe            a first round: GET / once, then POST /swipe/ with the card's photo id, like or dislike
                   at random, HX-Request set, and continue with the photo id of the card that comes back
                   (POST /reshuffle/ when the round ends)
  swipe-reshuffled the same after one POST /reshuffle/, so the queue order is permuted by a salt
  healthz          GET /healthz/: a trivial Django view on the same stack, the yardstick for the ratio

It prints a markdown table (also written to bench/results/swipe_roundtrip.md) with req/s, p50 and p99 and
the ratio swipe req/s / healthz req/s, against the targets. It then checks the server's state for every
bench profile: swipe_count equals the live Swipe rows, and the stored scores equal a replay of the log.

Profiles, swipes and sessions in the bench database are wiped before the run (the database name must
contain "bench"), so every run starts from the same state.
"""

import argparse
import datetime
import http.client
import math
import multiprocessing
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from bench import RESULTS_DIR, ROOT, setup_django

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


# --- the server -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, workers: int, worker_class: str, threads: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = {**os.environ, "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "vibes_site.settings"}
    command = [
        str(gunicorn),
        "vibes_site.wsgi:application",
        f"--bind={HOST}:{port}",
        f"--workers={workers}",
        f"--worker-class={worker_class}",
        "--log-level=warning",
    ]
    if worker_class == "gthread":
        command.append(f"--threads={threads}")
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_for_healthz(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {server.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz/")
            response = conn.getresponse()
            if response.status == 200 and response.read() == b"ok":
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer /healthz/ within {timeout:.0f} s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- CPU accounting from /proc (Linux), to say who used the two cores ----------------------------------


def _ticks_of(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None  # gone (a Postgres backend whose connection reached CONN_MAX_AGE)


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                pass
    return pids


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    return {pid: ticks for pid in pids if (ticks := _ticks_of(pid)) is not None}


def cpu_seconds_between(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU used in between by these processes. One that started in between counts whole; one that exited
    in between is left out (Postgres backends come and go as connections reach CONN_MAX_AGE)."""
    ticks = sum(after[pid] - before.get(pid, 0) for pid in after)
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values[:8]) - idle) / tick, sum(values[:8]) / tick


def database_backend_pids() -> list[int]:
    """The Postgres backends serving the bench database (gunicorn's persistent connections)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    connection.close()  # the next scenario forks: leave nothing open to inherit
    return pids


class CpuMeter:
    """CPU seconds per wall second, over a `with` block: gunicorn, its Postgres backends, finished child
    processes (wrk), and the busy share of the whole machine (everything, other people's work included)."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid

    def __enter__(self):
        self.server_pids = _tree(self.server_pid)
        self.db_pids = database_backend_pids()
        self.wall = time.perf_counter()
        self.server_before = cpu_ticks(self.server_pids)
        self.db_before = cpu_ticks(self.db_pids)
        self.children_before = _children_cpu()
        self.busy_before = machine_busy_seconds()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.wall
        busy, total = machine_busy_seconds()
        self.server = cpu_seconds_between(self.server_before, cpu_ticks(self.server_pids)) / wall
        db_pids = set(self.db_pids) | set(database_backend_pids())
        self.db = cpu_seconds_between(self.db_before, cpu_ticks(sorted(db_pids))) / wall
        self.client = (_children_cpu() - self.children_before) / wall
        self.busy = (busy - self.busy_before[0]) / max(total - self.busy_before[1], 1e-9)
        return False


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- the load generator ---------------------------------------------------------------------------------


class VirtualUser:
    """One browser: a keep-alive connection, its cookies, and what it has seen."""

    def __init__(self, port: int, seed: int):
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.random = random.Random(seed)
        self.photo: int | None = None
        self.swipes_ok = 0
        self.reshuffles = 0
        self.errors: list[str] = []
        self.reconnects = 0

    def request(self, method: str, path: str, form: dict | None = None, htmx: bool = False):
        headers = {}
        body = None
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(form or {})
        if htmx:
            headers["HX-Request"] = "true"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                # The server closed an idle keep-alive connection: reconnect once. A retried swipe is safe
                # (a repeated POST for the same photo counts once), and the reconnect is counted.
                self.conn.close()
                self.reconnects += 1
                if attempt == 2:
                    raise
        for header in response.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, data

    def _take_card(self, status: int, data: bytes, what: str) -> bool:
        match = PHOTO_RE.search(data) if status == 200 else None
        if match:
            self.photo = int(match.group(1))
            return True
        if status == 200 and b'id="end-state"' in data:
            self.photo = None
            return True
        self.errors.append(f"{what}: HTTP {status}")
        return False

    def setup(self, scenario: str) -> None:
        if scenario == "healthz":
            return
        status, data = self.request("GET", "/")
        self._take_card(status, data, "GET /")
        if scenario == "swipe-reshuffled":
            self.reshuffle()

    def reshuffle(self) -> None:
        status, data = self.request("POST", "/reshuffle/", {}, htmx=True)
        self.reshuffles += 1
        self._take_card(status, data, "POST /reshuffle/")

    def step(self, scenario: str) -> bool:
        """One measured request; False if it failed."""
        if scenario == "healthz":
            status, data = self.request("GET", "/healthz/")
            if status == 200 and data == b"ok":
                return True
            self.errors.append(f"GET /healthz/: HTTP {status}")
            return False
        liked = self.random.choice("01")
        status, data = self.request("POST", "/swipe/", {"photo": self.photo, "liked": liked}, htmx=True)
        ok = self._take_card(status, data, "POST /swipe/")
        self.swipes_ok += status == 200
        return ok

    def between(self, scenario: str) -> None:
        """Unmeasured work between two round trips: a new round when this one is used up."""
        if scenario != "healthz" and self.photo is None:
            self.reshuffle()


def _user_loop(user, scenario, start, warm_end, end, out):
    samples = []
    while True:
        user.between(scenario)
        began = time.perf_counter()
        if began >= end:
            break
        ok = user.step(scenario)
        done = time.perf_counter()
        if ok and began >= warm_end and done <= end:
            samples.append(done - began)
        if not ok and len(user.errors) > 50:
            break
    out.extend(samples)  # list.extend is atomic under the GIL


def load_process(scenario, port, seeds, warmup, duration, ready, go, clock, results):
    """A load-generator process: set up its users, wait for the common start, run, report."""
    users = [VirtualUser(port, seed) for seed in seeds]
    for user in users:
        user.setup(scenario)
    ready.put(os.getpid())
    go.wait()
    start = clock.value  # time.perf_counter() is CLOCK_MONOTONIC on Linux: one clock for all processes
    warm_end, end = start + warmup, start + warmup + duration
    samples: list[float] = []
    threads = [
        threading.Thread(target=_user_loop, args=(u, scenario, start, warm_end, end, samples)) for u in users
    ]
    for thread in threads:
        thread.start()
    delay = warm_end - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
    cpu_before = time.process_time()
    for thread in threads:
        thread.join()
    cpu = time.process_time() - cpu_before
    results.put(
        {
            "samples": samples,
            "client_cpu": cpu,
            "users": [
                {
                    "session": u.cookies.get("sessionid"),
                    "swipes_ok": u.swipes_ok,
                    "reshuffles": u.reshuffles,
                    "errors": u.errors,
                    "reconnects": u.reconnects,
                }
                for u in users
            ],
        }
    )


@dataclass
class Result:
    scenario: str
    concurrency: int
    latencies: list[float]
    duration: float
    client_cpu: float
    server_cpu: float
    db_cpu: float
    machine_busy: float
    tool: str = "python"
    users: list[dict] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.duration

    def percentile_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    @property
    def errors(self) -> list[str]:
        return [e for u in self.users for e in u["errors"]]


@dataclass
class WrkResult(Result):
    """wrk reports totals and percentiles, not each request."""

    total: int = 0
    wrk_percentiles: dict = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return self.total

    @property
    def rps(self) -> float:
        return self.total / self.duration

    def percentile_ms(self, q: float) -> float:
        return self.wrk_percentiles.get(str(round(q * 100)), float("nan"))


def run_scenario(scenario, port, server_pid, concurrency, procs, warmup, duration) -> Result:
    ctx = multiprocessing.get_context("fork")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    clock = ctx.Value("d", 0.0)
    procs = max(1, min(procs, concurrency))
    seeds = list(range(concurrency))
    workers = [
        ctx.Process(
            target=load_process,
            args=(scenario, port, seeds[i::procs], warmup, duration, ready, go, clock, results),
        )
        for i in range(procs)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    clock.value = time.perf_counter()
    go.set()
    time.sleep(warmup)
    with CpuMeter(server_pid) as meter:
        time.sleep(duration)
    meter.client = None  # the load processes measure themselves
    reports = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join()
    return Result(
        scenario=scenario,
        concurrency=concurrency,
        latencies=[s for r in reports for s in r["samples"]],
        duration=duration,
        client_cpu=sum(r["client_cpu"] for r in reports) / duration,
        server_cpu=meter.server,
        db_cpu=meter.db,
        machine_busy=meter.busy,
        users=[u for r in reports for u in r["users"]],
    )


def run_wrk(port, server_pid, concurrency, warmup, duration) -> Result | None:
    """The trivial view again, driven by wrk (C, multithreaded): is the Python client the bottleneck?"""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    url = f"http://{HOST}:{port}/healthz/"
    threads = str(max(1, min(2, concurrency)))
    base = [wrk, "-t", threads, "-c", str(concurrency)]
    subprocess.run([*base, "-d", f"{max(1, round(warmup))}s", url], capture_output=True, check=True)
    with CpuMeter(server_pid) as meter:
        out = subprocess.run(
            [*base, "-d", f"{max(1, round(duration))}s", "--latency", url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    return WrkResult(
        scenario="healthz (wrk)",
        concurrency=concurrency,
        latencies=[],
        duration=total / rps if rps else duration,
        client_cpu=meter.client,
        server_cpu=meter.server,
        db_cpu=meter.db,
        machine_busy=meter.busy,
        tool="wrk",
        users=[{"errors": [errors.group(0)] if errors else [], "reconnects": 0}],
        total=total,
        wrk_percentiles={q: _wrk_ms(out, q) for q in ("50", "99")},
    )


def _wrk_ms(out: str, q: str) -> float:
    match = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if not match:
        return float("nan")
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


# --- correctness of what the run left behind -------------------------------------------------------------


def check_profiles(results: list[Result]) -> tuple[bool, list[str]]:
    import numpy as np

    from swipes.engine import engine_for
    from swipes.models import Swipe
    from swipes.selectors import profile_for_session_cookie

    problems, checked = [], 0
    for result in results:
        for user in result.users:
            if result.scenario.startswith("healthz") or not user.get("session"):
                continue
            profile = profile_for_session_cookie(user["session"])
            log = list(
                Swipe.objects.filter(profile=profile, undone_at__isnull=True)
                .order_by("id")
                .values_list("photo_id", "liked")
            )
            engine = engine_for(profile.scores_model)
            replayed = engine.replay(log)
            stored = engine.load_state(profile.scores)
            checked += 1
            name = f"{result.scenario} profile #{profile.pk}"
            if profile.swipe_count != len(log):
                problems.append(f"{name}: swipe_count {profile.swipe_count} but {len(log)} live swipes")
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
        cursor.execute("TRUNCATE swipes_swipe, swipes_userprofile")


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
    from cities.selectors import active_model

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
    print(table)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "swipe_roundtrip.md").write_text(table, encoding="utf-8")
    print(f"(written to {(RESULTS_DIR / 'swipe_roundtrip.md').relative_to(ROOT)})")
    return 0 if consistent else 1


if __name__ == "__main__":
    sys.exit(main())
