"""Scorers and policies by name: what settings.VIBES_SCORER and VIBES_POLICY mean (pure NumPy, no Django)."""

from .base import Policy, Scorer
from .catalogue import PhotoSet
from .embedding_scorers import CityAndLookScorer, EmbeddingScorer, MultiTasteScorer
from .policies import AdaptivePolicy, GlobalQueue
from .scorers import NormalisedScorer, OriginalScorer

SCORERS: dict[str, type[Scorer]] = {
    scorer.name: scorer
    for scorer in (OriginalScorer, NormalisedScorer, EmbeddingScorer, MultiTasteScorer, CityAndLookScorer)
}
POLICIES: dict[str, type[Policy]] = {policy.name: policy for policy in (GlobalQueue, AdaptivePolicy)}

# Chosen on two catalogues (bench/recommend_sim.py, adaptive policy, 100 people per taste, seed 0;
# docs/recommendations.md has the tables). On 7 real cities (3,861 photos, a Lite0 head at top-1 0.70)
# city_and_look reaches the original's 40-swipe NDCG@5 in 12 / 3 / 7 swipes on the favourite-cities /
# direction / two-looks tastes, against multi_taste's 27 / 3 / 7 and normalised's 21 / 7 / 13: the looks
# mix cities, so a favourite city shows only in its own rate. On the synthetic 266 cities, where a city is
# seldom swiped twice, it stays close to multi_taste (see the docs). multi_taste stays selectable.
DEFAULT_SCORER = "city_and_look"

# From the same `make bench` run: with every scorer, the adaptive policy beats the global queue after 40
# swipes; with multi_taste, NDCG@5 after 20 swipes goes 0.393 -> 0.504 / 0.702 -> 0.744 / 0.666 -> 0.755
# (favourite cities / direction / two looks). In a tuning run (seed 1), the facility-location start lifted
# NDCG@5 after 5 swipes (direction: 0.42 -> 0.51) and matched no cold start at 20 swipes; a farthest-point
# start lost 0.02-0.09 there.
DEFAULT_POLICY = "adaptive"


def scorer_class(name: str) -> type[Scorer]:
    try:
        return SCORERS[name]
    except KeyError:
        raise ValueError(f"unknown scorer {name!r}; choose one of {sorted(SCORERS)}") from None


def policy_class(name: str) -> type[Policy]:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; choose one of {sorted(POLICIES)}") from None


def make_scorer(name: str, photos: PhotoSet, **settings) -> Scorer:
    return scorer_class(name)(photos, **settings)


def make_policy(name: str, photos: PhotoSet, **settings) -> Policy:
    return policy_class(name)(photos, **settings)


def describe_scorer(name: str) -> str:
    """The scorer's sentence for people; empty for an unknown name (a page still renders)."""
    scorer = SCORERS.get(name)
    return scorer.description if scorer else ""
