"""Recommendation simulation: every scorer x policy against simulated people, with fixed seeds.

    python -m bench.recommend_sim [--people 200] [--swipes 60] [--seed 0] [--from-db] [--quick]

Simulated people (bench.recommend_data) swipe up to 60 photos each, chosen by a policy and scored by a
scorer (swipes.recommender). After k swipes we compare the scorer's top 5 cities with the
person's true ranking (mean like probability over each city's photos):

- NDCG@5: discounted gain of the top 5 over the best possible top 5, the gain of a city being how much more
  the person likes its photos than their average city's (zero below average).
- hit@5: the share of people whose single favourite city is in the top 5.
- swipes to match: the fewest swipes after which the mean NDCG@5 reaches what the original scorer with the
  global queue reaches after 40 (">N" when it never does).

Data: with --from-db, the active model's catalogue as the app's engine reads it (mlworker.selectors
.load_catalogue: vectors, and the PhotoEmbedding rows of the version's embedding key); otherwise, or when
the database lacks them, a synthetic catalogue. The table says which.
It also times update, city_scores and choose on a 5,000 photos x 266 cities x D=1,280 synthetic catalogue.
Prints markdown tables and writes them to bench/results/recommend_sim.md. A rerun prints the same tables
(except the timings).
"""

import argparse
import sys
import time

import numpy as np

from bench import publish, setup_django
from bench.recommend_data import TASTES, People, describe_catalogue, simulate_people, synthetic_catalogue
from swipes.recommender import scoring
from swipes.recommender.catalogue import PhotoSet
from swipes.recommender.registry import (
    DEFAULT_POLICY,
    DEFAULT_SCORER,
    POLICIES,
    SCORERS,
    make_policy,
    make_scorer,
)

CHECKPOINTS = (5, 10, 20, 40, 60)
TOP = 5
REFERENCE = ("original", "global_queue", 40)  # the bar: the original design after 40 swipes


# --- metrics (pure) -----------------------------------------------------------------------------------


def relevance(utility: np.ndarray) -> np.ndarray:
    """Gain of each city: how much more than the person's average city they like it, zero below."""
    return np.maximum(utility - utility.mean(axis=-1, keepdims=True), 0.0)


def ndcg(top: np.ndarray, utility: np.ndarray) -> np.ndarray:
    """NDCG of ranked city indices `top` [P, ..., k] against each person's utility [P, C]."""
    gains = relevance(utility)
    gains = gains.reshape(gains.shape[:1] + (1,) * (top.ndim - 2) + gains.shape[1:])
    discounts = 1.0 / np.log2(np.arange(2, top.shape[-1] + 2))
    ideal = (np.sort(gains, axis=-1)[..., ::-1][..., : top.shape[-1]] * discounts).sum(axis=-1)
    achieved = (np.take_along_axis(gains, top, axis=-1) * discounts).sum(axis=-1)
    return np.divide(achieved, ideal, out=np.zeros(achieved.shape), where=ideal > 0)


def hit(top: np.ndarray, utility: np.ndarray) -> np.ndarray:
    """1.0 where the person's favourite city is among `top` [P, ..., k]."""
    favourite = np.argmax(utility, axis=-1).reshape((-1,) + (1,) * (top.ndim - 1))
    return (top == favourite).any(axis=-1).astype(float)


def swipes_to_reach(curve: np.ndarray, target: float) -> int | None:
    """The first number of swipes (index of `curve`, which starts at 0 swipes) whose value >= target."""
    reached = np.flatnonzero(curve >= target - 1e-12)
    return int(reached[0]) if reached.size else None


# --- simulation ---------------------------------------------------------------------------------------


def top_cities(scores: np.ndarray, k: int = TOP) -> np.ndarray:
    return scoring.rank(scores)[:k]


def simulate(scorer, policy, people: People, swipes: int, seed: int = 0) -> np.ndarray:
    """Top cities after 0..swipes swipes for every person: int [P, swipes + 1, TOP]."""
    n_people = people.will_like.shape[0]
    tops = np.empty((n_people, swipes + 1, TOP), dtype=np.int64)
    taste_number = TASTES.index(people.taste) if people.taste in TASTES else 99
    for person in range(n_people):
        rng = np.random.default_rng([seed, taste_number, person])
        state = scorer.initial_state()
        seen = np.zeros(scorer.photos.n_photos, dtype=bool)
        tops[person, 0] = top_cities(scorer.city_scores(state))
        for step in range(1, swipes + 1):
            index = policy.choose(scorer, state, seen, rng)
            if index is None:  # a tiny catalogue ran out of photos: the ranking stays
                tops[person, step:] = tops[person, step - 1]
                break
            seen[index] = True
            state = scorer.update(state, index, bool(people.will_like[person, index]))
            tops[person, step] = top_cities(scorer.city_scores(state))
    return tops


def run(photos: PhotoSet, crowds: dict[str, People], scorer_names, policy_names, swipes: int, seed: int = 0):
    """{(taste, scorer, policy): (ndcg curve [swipes+1], hit curve [swipes+1])}, means over people."""
    results = {}
    for scorer_name in scorer_names:
        scorer = make_scorer(scorer_name, photos)
        for policy_name in policy_names:
            policy = make_policy(policy_name, photos)
            for taste, people in crowds.items():
                tops = simulate(scorer, policy, people, swipes, seed)
                results[taste, scorer_name, policy_name] = (
                    ndcg(tops, people.city_utility).mean(axis=0),
                    hit(tops, people.city_utility).mean(axis=0),
                )
    return results


# --- timings ------------------------------------------------------------------------------------------


def _median_microseconds(repeats: int, call, *args) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call(*args)
        times.append(time.perf_counter() - started)
    return 1e6 * float(np.median(times))


def measure_timings(
    photos: PhotoSet, scorer_names, policy_names, swipes_before: int = 40, repeats: int = 200
) -> tuple[dict, list[dict]]:
    """Once per catalogue: seconds to project it and to build each policy. Per scorer: build seconds,
    stored state bytes, and median µs of update, city_scores and each policy's choose, at the first swipe
    and after `swipes_before` swipes."""
    started = time.perf_counter()
    photos.projected(32)  # the PCA shared by the embedding scorers and the adaptive policy
    once = {"projection_s": time.perf_counter() - started}
    policies = {}
    for policy_name in policy_names:
        started = time.perf_counter()
        policies[policy_name] = make_policy(policy_name, photos)
        once[f"build_{policy_name}_s"] = time.perf_counter() - started
    rng = np.random.default_rng(0)
    rows = []
    for name in scorer_names:
        started = time.perf_counter()
        scorer = make_scorer(name, photos)
        build = time.perf_counter() - started
        shown = rng.choice(photos.n_photos, size=swipes_before, replace=False)
        state = scorer.replay(shown, rng.random(swipes_before) < 0.3)
        seen = np.zeros(photos.n_photos, dtype=bool)
        seen[shown] = True
        nothing_seen = np.zeros(photos.n_photos, dtype=bool)
        row = {
            "scorer": name,
            "build_s": build,
            "state_bytes": len(scorer.state_to_bytes(state)),
            "update_us": _median_microseconds(repeats, scorer.update, state, 7, True),
            "city_scores_us": _median_microseconds(repeats, scorer.city_scores, state),
        }
        for policy_name, policy in policies.items():
            policy_rng = np.random.default_rng(1)
            first = scorer.initial_state()
            row[f"choose_{policy_name}_first_us"] = _median_microseconds(
                repeats, policy.choose, scorer, first, nothing_seen, policy_rng
            )
            row[f"choose_{policy_name}_us"] = _median_microseconds(
                repeats, policy.choose, scorer, state, seen, policy_rng
            )
        rows.append(row)
    return once, rows


# --- data ---------------------------------------------------------------------------------------------


def load_photo_set_from_db() -> tuple[PhotoSet | None, str]:
    """The active model's catalogue, exactly as the app's engine reads it, or (None, why not)."""
    setup_django()
    from django.db import DatabaseError

    try:
        return _load_photo_set()
    except DatabaseError as error:  # not migrated, not reachable: the synthetic catalogue will do
        return None, f"cannot read it ({type(error).__name__}: {error})"


def _load_photo_set() -> tuple[PhotoSet | None, str]:
    from mlworker.selectors import active_model, embedding_key_of, load_catalogue
    from swipes.engine import photo_set

    version = active_model()
    if version is None:
        return None, "no active model version"
    catalogue = load_catalogue(version)
    # The simulated people like photos for their look, which needs an embedding of every photo.
    if catalogue.embeddings is None or catalogue.n_photos < 2 * TOP:
        key = embedding_key_of(version) or "(none recorded)"
        return None, f"model {version} lacks {key} embeddings for some of its {catalogue.n_photos} photos"
    return photo_set(catalogue), f"database: model {version.name!r} ({version.backbone})"


# --- report -------------------------------------------------------------------------------------------


def format_tables(results, scorer_names, policy_names, swipes: int) -> str:
    checkpoints = [k for k in CHECKPOINTS if k <= swipes]
    tastes = sorted({taste for taste, _, _ in results}, key=lambda t: (TASTES + (t,)).index(t))
    lines = []
    for taste in tastes:
        reference = results.get((taste, REFERENCE[0], REFERENCE[1]))
        at = min(REFERENCE[2], swipes)
        target = reference[0][at] if reference is not None else None
        target_text = "n/a" if target is None else f"{target:.3f}"
        lines += [
            f"### Taste: {taste}  (target: original + global_queue NDCG@5 at {at} swipes = {target_text})",
            "",
            "| scorer | policy | "
            + " | ".join(f"NDCG@5 k={k}" for k in checkpoints)
            + " | "
            + " | ".join(f"hit@5 k={k}" for k in checkpoints)
            + " | swipes to match |",
            "|---|---|" + "---:|" * (2 * len(checkpoints) + 1),
        ]
        for scorer_name in scorer_names:
            for policy_name in policy_names:
                ndcg_curve, hit_curve = results[taste, scorer_name, policy_name]
                needed = None if target is None else swipes_to_reach(ndcg_curve, target)
                marks = (
                    " **(default)**" if (scorer_name, policy_name) == (DEFAULT_SCORER, DEFAULT_POLICY) else ""
                )
                lines.append(
                    f"| {scorer_name}{marks} | {policy_name} | "
                    + " | ".join(f"{ndcg_curve[k]:.3f}" for k in checkpoints)
                    + " | "
                    + " | ".join(f"{hit_curve[k]:.2f}" for k in checkpoints)
                    + " | "
                    + ("–" if target is None else (str(needed) if needed is not None else f">{swipes}"))
                    + " |"
                )
        lines.append("")
    return "\n".join(lines)


def format_timings(once: dict, rows: list[dict], policy_names, label: str, swipes_before: int = 40) -> str:
    built = ", ".join(f"{p} policy {once[f'build_{p}_s']:.2f} s" for p in policy_names)
    lines = [
        f"### Per-call timings ({label}; median µs of 200 calls)",
        "",
        f"Once per catalogue: projection (PCA to 32-d) {once['projection_s']:.2f} s, {built}; "
        f"'@0' = first swipe, '@{swipes_before}' = after {swipes_before} swipes.",
        "",
        f"| scorer | build (s) | state (bytes) | update @{swipes_before} (µs) | city_scores @{swipes_before} (µs) | "
        + " | ".join(f"choose {p} @0 (µs) | choose {p} @{swipes_before} (µs)" for p in policy_names)
        + " |",
        "|---|" + "---:|" * (4 + 2 * len(policy_names)),
    ]
    for row in rows:
        lines.append(
            f"| {row['scorer']} | {row['build_s']:.2f} | {row['state_bytes']} | {row['update_us']:.0f} | "
            f"{row['city_scores_us']:.0f} | "
            + " | ".join(
                f"{row[f'choose_{p}_first_us']:.0f} | {row[f'choose_{p}_us']:.0f}" for p in policy_names
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=200, help="simulated people per taste kind")
    parser.add_argument("--swipes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--from-db", action="store_true", help="the active model's photos (Django)")
    parser.add_argument("--scorers", default=",".join(SCORERS))
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--no-timings", action="store_true")
    parser.add_argument("--quick", action="store_true", help="40 people per taste, for a smoke test")
    args = parser.parse_args(argv)
    scorer_names, policy_names = args.scorers.split(","), args.policies.split(",")
    people = 40 if args.quick else args.people

    photos, source = None, ""
    if args.from_db:
        photos, source = load_photo_set_from_db()
        if photos is None:
            print(f"(database not usable: {source}; using the synthetic catalogue)")
    if photos is None:
        photos, source = synthetic_catalogue(seed=args.seed), f"synthetic catalogue (seed {args.seed})"
    started = time.perf_counter()
    crowds = {taste: simulate_people(photos, taste, people, args.seed) for taste in TASTES}
    results = run(photos, crowds, scorer_names, policy_names, args.swipes, args.seed)
    elapsed = time.perf_counter() - started
    report = [
        "## Recommendation simulation (bench/recommend_sim.py)",
        "",
        f"Data: {source}: {describe_catalogue(photos)}.",
        f"People: {people} per taste x {len(TASTES)} tastes, up to {args.swipes} swipes, seed {args.seed}. "
        f"Default: scorer {DEFAULT_SCORER!r}, policy {DEFAULT_POLICY!r}. Simulated in {elapsed:.0f} s.",
        "",
        "NDCG@5: the top 5 cities against the person's true ranking (gain = how much more than their "
        "average city they like a city's photos). hit@5: share of people whose favourite city is in the "
        "top 5 (of all cities). Swipes to match: fewest swipes whose mean NDCG@5 reaches the target.",
        "",
        format_tables(results, scorer_names, policy_names, args.swipes),
    ]
    if not args.no_timings:
        big = synthetic_catalogue(
            n_cities=266, dimensions=1280, photos_per_city=(5, 60), typical_photos=13, seed=1
        )
        once, rows = measure_timings(big, scorer_names, policy_names)
        label = f"synthetic, {big.n_photos} photos x {big.n_cities} cities x D={big.embeddings.shape[1]}"
        report.append(format_timings(once, rows, policy_names, label))
    publish("recommend_sim", "\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
