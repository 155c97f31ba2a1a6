"""The benchmark's load generator: keep-alive virtual users on loopback, spread over a few processes, and
wrk as a cross-check for the trivial view."""

import http.client
import math
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from bench.server_harness import HOST, CpuMeter

VISITOR_COOKIE = "vibes_visitor_token"  # swipes.visitors.VISITOR_COOKIE (this module runs without Django)

PHOTO_RE = re.compile(rb'name="photo" value="(\d+)"')


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
            # /livez/: the trivial view (/healthz/ now queries the database and the broker).
            status, data = self.request("GET", "/livez/")
            if status == 200 and data == b"ok":
                return True
            self.errors.append(f"GET /livez/: HTTP {status}")
            return False
        if scenario == "anchor":  # the P1 anchor view (vibes_site.settings.bench)
            status, data = self.request("POST", "/bench/write/", {}, htmx=True)
            if status == 200 and b"ok" in data:
                return True
            self.errors.append(f"POST /bench/write/: HTTP {status}")
            return False
        liked = self.random.choice("01")
        status, data = self.request("POST", "/swipe/", {"photo": self.photo, "liked": liked}, htmx=True)
        ok = self._take_card(status, data, "POST /swipe/")
        self.swipes_ok += status == 200
        return ok

    def between(self, scenario: str) -> None:
        """Unmeasured work between two round trips: a new round when this one is used up."""
        if scenario not in ("healthz", "anchor") and self.photo is None:
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
                    "visitor": u.cookies.get(VISITOR_COOKIE),
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
    url = f"http://{HOST}:{port}/livez/"
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
