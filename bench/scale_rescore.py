"""The growth benchmark's rescore part (bench/scale.py): the rescore job's real work over 10k and 100k
profiles with a long swipe table, swipes answered meanwhile, and the swipe path's query plans."""

import json
import os
import random
import subprocess
import sys
import time

from bench import ROOT

RESCORE = """
import json, time
from bench import setup_django
setup_django()
from swipes.rescore import rescore_all_profiles
chunks = []
started = time.perf_counter()
count = rescore_all_profiles(progress=lambda done, total: chunks.append(done))
print(json.dumps({"profiles": count, "seconds": time.perf_counter() - started, "chunks": len(chunks)}))
"""


def fill_profiles(version, n_profiles: int, swipes_per_profile: int) -> int:
    """`n_profiles` anonymous profiles that swiped `swipes_per_profile` different photos each (SQL)."""
    from django.db import connection

    from swipes.models import Swipe

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE swipes_swipe, swipes_userprofile CASCADE")  # and what hangs off profiles
        cursor.execute(
            # Every NOT NULL column without a database default is named (Django keeps defaults in Python).
            "INSERT INTO swipes_userprofile (round, queue_salt, swipe_count, scores, reveal_city, created_at,"
            " updated_at) SELECT 1, 0, %s, '', true, now(), now() FROM generate_series(1, %s)",
            [swipes_per_profile, n_profiles],
        )
        cursor.execute(  # each profile swipes `swipes_per_profile` different photos of the catalogue
            "WITH ids AS (SELECT array_agg(photo_id ORDER BY photo_id) AS a, count(*) AS n"
            "  FROM mlworker_photoprediction WHERE model_version_id = %s)"
            " INSERT INTO swipes_swipe (profile_id, photo_id, liked, round, created_at)"
            " SELECT p.id, ids.a[1 + ((p.id * 7 + g) %% ids.n)], random() < 0.5, 1, now()"
            " FROM swipes_userprofile p, generate_series(0, %s - 1) g, ids ORDER BY p.id, g",
            [version.pk, swipes_per_profile],
        )
        cursor.execute("VACUUM ANALYZE swipes_swipe")
        cursor.execute("VACUUM ANALYZE swipes_userprofile")
    return Swipe.objects.count()


def rescore_while_swiping(version, pause: float = 0.02) -> dict:
    """The rescore job's work in a process of its own (as on a Celery worker) while this one records swipes
    on profiles of the set, every `pause` seconds; the swipes' latencies show whether the rescore blocks."""
    from django.db import connections

    from swipes import services
    from swipes.engine import engine_for
    from swipes.models import UserProfile

    profile_ids = list(UserProfile.objects.values_list("id", flat=True))
    photo_ids = engine_for(version).photo_ids.tolist()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    job = subprocess.Popen(
        [sys.executable, "-c", RESCORE], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    rng, latencies = random.Random(0), []
    while job.poll() is None:
        profile = UserProfile.objects.get(pk=rng.choice(profile_ids))
        started = time.perf_counter()
        services.record_swipe(profile, rng.choice(photo_ids), rng.random() < 0.5, version)
        latencies.append(time.perf_counter() - started)
        time.sleep(pause)
    out, _ = job.communicate()
    if job.returncode:
        raise RuntimeError(f"the rescore process failed ({job.returncode})")
    connections.close_all()
    result = json.loads(out.strip().splitlines()[-1])
    latencies.sort()
    result["swipes"] = len(latencies)
    result["swipe_p50_ms"] = 1000 * latencies[len(latencies) // 2] if latencies else float("nan")
    result["swipe_max_ms"] = 1000 * latencies[-1] if latencies else float("nan")
    return result


def swipe_path_plans() -> dict:
    from swipes.models import Swipe, UserProfile

    profile = UserProfile.objects.order_by("?").first()
    return {
        name: qs.explain(analyze=True)
        for name, qs in {
            "this round's swipes (duplicate check, where the profile stands, the next card)": Swipe.objects.live()
            .in_round(profile)
            .values_list("id", "photo_id"),
            "live log (replay)": profile.swipes.live().order_by("id").values_list("photo_id", "liked"),
        }.items()
    }


def rescore_and_plans(profile_counts: list[int], swipes_per_profile: int) -> dict:
    from mlworker.selectors import active_model

    version = active_model()
    runs = []
    for n_profiles in profile_counts:
        swipes = fill_profiles(version, n_profiles, swipes_per_profile)
        runs.append({"swipe_rows": swipes, **rescore_while_swiping(version)})
        print(json.dumps(runs[-1]), flush=True)
    return {"runs": runs, "plans": swipe_path_plans()}


def report_lines(rescore: dict) -> list[str]:
    lines = [
        "",
        "Rescore (swipes.rescore, in a process of its own as on the worker) while another process records a "
        "swipe every 20 ms on profiles of the set:",
        "",
        "| profiles | swipe rows | rescore | profiles/s | chunks | swipes meanwhile | their p50 | their max |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in rescore["runs"]:
        lines.append(
            f"| {run['profiles']:,} | {run['swipe_rows']:,} | {run['seconds']:.1f} s "
            f"| {run['profiles'] / run['seconds']:,.0f} | {run['chunks']} | {run['swipes']:,} "
            f"| {run['swipe_p50_ms']:.1f} ms | {run['swipe_max_ms']:.0f} ms |"
        )
    lines += ["", "Query plans of the swipe path with the largest table:"]
    for name, plan in rescore["plans"].items():
        lines += ["", f"- {name}:", "", "```", plan, "```"]
    return lines
