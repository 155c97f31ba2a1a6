"""The benchmark's server side: gunicorn started and stopped on loopback, and CPU accounting from /proc
(Linux) that says who used the cores during a measured window."""

import http.client
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench import ROOT

HOST = "127.0.0.1"


# --- the server -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_gunicorn(
    port: int, workers: int, worker_class: str, threads: int, settings: str = "vibes_site.settings.local"
) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = {**os.environ, "DEBUG": "0", "DJANGO_SETTINGS_MODULE": settings}
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
    """Until /healthz/ says ready (200: the database and the broker answer; its body is JSON)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {server.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz/")
            response = conn.getresponse()
            response.read()
            if response.status == 200:
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
