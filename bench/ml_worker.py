"""The ml worker under a real job load, for bench/ml_pipeline.py: peak RSS of its processes, TensorFlow in which.

A `celery worker -Q <queue> --concurrency 1` (prefork) subprocess gets a TRAIN job and then a PREDICT job
through jobs.services.start_job; the cached embeddings are deleted before each, so both run the backbone
over every photo. While they run, every process of the worker's tree is sampled from /proc (VmHWM is the
kernel's own peak, so sampling only has to find the processes); at the end /proc/<pid>/maps tells whether
libtensorflow is loaded. Needs Django set up, CELERY_ML_QUEUE naming a queue no other worker consumes, and a
broker both processes reach.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKBONE = "efficientnet_lite0"
JOB_TIMEOUT_S = 300


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def process_tree(root: int) -> list[int]:
    tree, found, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0])
    return fields


def maps_tensorflow(pid: int) -> bool:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return "libtensorflow" in maps or "_pywrap_tensorflow" in maps


def sample(worker: subprocess.Popen, seen: dict[int, dict]) -> None:
    """Note the memory of every process of the worker's tree (a replaced pool child keeps its peak here)."""
    for pid in process_tree(worker.pid):
        try:
            mem = memory_kb(pid)
        except OSError:
            continue  # it just exited
        entry = seen.setdefault(pid, {"VmHWM": 0})
        entry.update(VmRSS=mem["VmRSS"], VmHWM=max(entry["VmHWM"], mem["VmHWM"]))


def wait_for(job, worker: subprocess.Popen, seen: dict[int, dict], log: Path):
    """Poll the Job until it finishes, sampling the worker's memory meanwhile."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        sample(worker, seen)
        job.refresh_from_db()
        if job.is_finished or worker.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    if job.status != job.Status.SUCCEEDED:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise SystemExit(f"{job.kind} job #{job.pk} ended {job.status}: {job.message}\n{tail}")
    return job


def run_worker_jobs(scratch: Path, epochs: int) -> dict:
    from jobs.services import start_job
    from mlworker.models import ModelVersion, PhotoEmbedding

    queue = os.environ["CELERY_ML_QUEUE"]
    log = scratch / "worker.log"
    options = f"worker -Q {queue} --concurrency 1 --pool prefork --loglevel WARNING -n {queue}@%h"
    command = [sys.executable, "-m", "celery", "-A", "vibes_site", *options.split(), "--without-mingle"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    with open(log, "wb") as out:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    seen: dict[int, dict] = {}
    try:
        PhotoEmbedding.objects.all().delete()
        train = start_job("train", params={"backbones": [BACKBONE], "epochs": epochs})
        train = wait_for(train, worker, seen, log)
        version = ModelVersion.objects.get(pk=train.result["best_version"])
        PhotoEmbedding.objects.all().delete()  # so that PREDICT runs the pipeline, not a cache lookup
        predict = wait_for(start_job("predict", params={"version": version.pk}), worker, seen, log)
        sample(worker, seen)
        for pid in process_tree(worker.pid):
            seen[pid]["tf"] = maps_tensorflow(pid)
        role = {worker.pid: "prefork parent"}
        processes = [
            (role.get(pid, "pool child"), pid, e["VmHWM"], e["VmRSS"], e.get("tf")) for pid, e in seen.items()
        ]
    finally:
        pids = process_tree(worker.pid)
        worker.send_signal(signal.SIGTERM)  # warm shutdown: it is idle
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            worker.wait(10)
    seconds = {j.kind: (j.finished_at - j.started_at).total_seconds() for j in (train, predict)}
    return {"version": version, "processes": processes, "seconds": seconds, "queue": queue}
