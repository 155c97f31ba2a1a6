"""Reads for the swipe loop and the recommendations page."""

import hashlib
from dataclasses import dataclass, field

import numpy as np

from cities.models import City, Photo
from cities.selectors import scene_tag_counts
from mlworker.models import ModelVersion
from mlworker.selectors import active_model

from . import geo, taste
from .charts import percent_of_best
from .engine import StaleState, engine_for
from .models import Swipe, UserProfile
from .recommender import scoring

TOP_CITIES = 10
WHY_PHOTOS = 3


def queue_photos(version: ModelVersion | None):
    """Photos that can be served (Photo.objects.servable()), with a vector under the active model."""
    if version is None:
        return Photo.objects.none()
    return Photo.objects.servable().filter(predictions__model_version=version)


def live_log(profile: UserProfile) -> list[tuple[int, bool]]:
    """(photo id, liked) of every swipe that counts, oldest first: the source of truth for a taste."""
    if profile.pk is None:  # a visitor who has not swiped yet (profiles.profile_for_reading)
        return []
    return list(profile.swipes.live().order_by("id").values_list("photo_id", "liked"))


def swipes_this_round(profile: UserProfile):
    """The live swipes of the profile's current round (none before its first swipe)."""
    if profile.pk is None:
        return Swipe.objects.none()
    return Swipe.objects.live().in_round(profile)


def last_swipe_id(profile: UserProfile) -> int | None:
    """The latest live swipe of this round: the one an undo button takes back, and the card's stamp of where
    the profile stood when it was dealt."""
    return swipes_this_round(profile).order_by("-id").values_list("id", flat=True).first()


def stored_state(profile: UserProfile, version: ModelVersion) -> np.ndarray | None:
    """The profile's stored state if it belongs to this model, scorer and catalogue, else None."""
    if profile.scores_model_id != version.pk or not profile.scores:
        return None
    try:
        return engine_for(version).load_state(profile.scores)
    except StaleState:
        return None


def replayed_state(profile: UserProfile, version: ModelVersion) -> np.ndarray:
    """The profile's live log replayed under `version`: the one way a state is rebuilt (after an undo, a
    model switch, a merge) or checked (the round-trip bench, the tests)."""
    return engine_for(version).replay(live_log(profile))


def current_state(profile: UserProfile, version: ModelVersion) -> np.ndarray:
    """The stored state when it is current; otherwise a replay of the log."""
    state = stored_state(profile, version)
    return state if state is not None else replayed_state(profile, version)


def next_photo(
    profile: UserProfile,
    version: ModelVersion | None = None,
    *,
    seen_this_round: tuple[int, ...] | None = None,
    state: np.ndarray | None = None,
) -> Photo | None:
    """The next card for this profile, or None when every photo has been shown this round.

    The configured policy (swipes.recommender.policies) chooses among the servable photos not swiped this
    round; the global queue permutes its order by the round's salt. Right after a swipe the caller knows the
    round's swiped photos and the new state (services.SwipeOutcome) and passes them, which saves reading
    them again; the card is the same either way.
    """
    version = version or active_model()
    if version is None:
        return None
    engine = engine_for(version)
    if seen_this_round is None:
        seen_this_round = swipes_this_round(profile).values_list("photo_id", flat=True)
    seen = ~engine.servable
    seen[engine.indices(seen_this_round)] = True
    if state is None:
        state = current_state(profile, version)
    # Seeded by who it is and where they stand, so a retried request (or an undo) shows the same card again.
    rng = np.random.default_rng([card_seed(profile), profile.round, profile.swipe_count])
    for _ in range(3):  # a photo hidden (or rated low) since the engine was built is skipped
        index = engine.policy.choose(engine.scorer, state, seen, rng, queue_salt=profile.queue_salt)
        if index is None:
            return None
        photo = Photo.objects.servable().filter(pk=int(engine.photo_ids[index])).first()
        if photo is not None:
            return photo
        seen[index] = True
    return None


def card_seed(profile: UserProfile) -> int:
    """Who is being dealt a card, as a number: the visitor's token or the account, never the row's id, so
    it is the same before the first swipe creates the row as after (an undo of that swipe brings the first
    card back), and differs between people (the adaptive policy's cold start varies with it)."""
    if profile.visitor_token:
        return int.from_bytes(hashlib.sha256(profile.visitor_token.encode()).digest()[:8], "big")
    return profile.user_id or profile.pk or 0


def queue_size(version: ModelVersion | None = None) -> int:
    """How many photos the queue holds (queue_photos). Shown on every card, so read from the engine, which
    knows which of its photos may be served, rather than counted in the database per swipe."""
    version = version or active_model()
    if version is None:
        return 0
    return int(engine_for(version).servable.sum())


def profile_for_visitor_cookie(value: str) -> UserProfile | None:
    """The anonymous profile behind a visitor cookie, None before its first swipe (tests and benchmarks
    look profiles up this way)."""
    return UserProfile.objects.filter(visitor_token=value).first()


@dataclass
class RankedCity:
    city: City
    score: float
    bar: float  # in [-1, 1], relative to the largest absolute score of the whole ranking
    rank: int  # in the whole ranking, before any narrowing
    why: list[Photo] = field(default_factory=list)
    shared_tags: list[str] = field(default_factory=list)  # scene words the "why" photos have in common
    visited: bool = False

    @property
    def percent(self) -> int:
        """A share of the best match, as the chart shows it."""
        return percent_of_best(self.bar)

    @property
    def percent_text(self) -> str:
        return f"{self.percent}%" if self.percent >= 0 else f"−{-self.percent}%"


@dataclass(frozen=True)
class Narrowing:
    """The person's critique of the ranking: only one continent or country, without the cities they know."""

    continent: str = ""
    country: str = ""  # ISO alpha-2
    hide_visited: bool = False

    @property
    def active(self) -> bool:
        return bool(self.continent or self.country or self.hide_visited)

    def keeps(self, country_code: str, visited: bool) -> bool:
        if self.hide_visited and visited:
            return False
        if self.country and country_code != self.country:
            return False
        return not self.continent or geo.continent_of(country_code) == self.continent


@dataclass
class Recommendations:
    model: ModelVersion | None
    cities: list[RankedCity]
    total: int  # after narrowing
    swipe_count: int
    narrowing: Narrowing = field(default_factory=Narrowing)
    continents: list[str] = field(default_factory=list)  # those in the ranking, to narrow by
    countries: list[tuple[str, str]] = field(default_factory=list)  # (code, name)

    @property
    def has_more(self) -> bool:
        return len(self.cities) < self.total


def recommendations(
    profile: UserProfile,
    limit: int | None = TOP_CITIES,
    narrowing: Narrowing | None = None,
    taste_words: list[str] = (),
) -> Recommendations:
    """Cities ranked by the configured scorer (the profile's state must be current: see
    services.ensure_current_scores), narrowed as asked, each top city with the scorer's own evidence ("why")
    and the scene words that evidence shares (taste words first)."""
    narrowing = narrowing or Narrowing()
    version = profile.scores_model
    if version is None or not profile.scores:
        return Recommendations(model=version, cities=[], total=0, swipe_count=profile.swipe_count)
    engine = engine_for(version)
    state = current_state(profile, version)
    scores = engine.scorer.city_scores(state)
    order = scoring.rank(scores)
    bars = dict(scoring.bar_chart(scores, order))
    places = {
        pk: (name, code) for pk, name, code in City.objects.values_list("pk", "country", "country_code")
    }
    visited = set(profile.visited.values_list("city_id", flat=True))
    kept = [
        i
        for i in order
        if version.city_ids[i] in places
        and narrowing.keeps(places[version.city_ids[i]][1], version.city_ids[i] in visited)
    ]
    shown = kept if limit is None else kept[:limit]
    cities = City.objects.in_bulk([version.city_ids[i] for i in shown])
    liked = engine.indices(dict.fromkeys(p for p, is_like in live_log(profile) if is_like))
    why_ids = {
        int(i): [int(engine.photo_ids[j]) for j in engine.scorer.explain(state, int(i), liked, WHY_PHOTOS)]
        for i in shown[:TOP_CITIES]
    }
    photos = Photo.objects.in_bulk({pid for ids in why_ids.values() for pid in ids})
    rank_of = {int(i): position + 1 for position, i in enumerate(order)}
    ranked = []
    for i in shown:
        city_id = version.city_ids[i]
        why = [photos[pid] for pid in why_ids.get(int(i), []) if pid in photos]
        ranked.append(
            RankedCity(
                city=cities[city_id],
                score=float(scores[i]),
                bar=bars[int(i)],
                rank=rank_of[int(i)],
                why=why,
                shared_tags=taste.shared_tags([p.scene_tags for p in why], prefer=list(taste_words)),
                visited=city_id in visited,
            )
        )
    codes = {places[c][1]: places[c][0] for c in version.city_ids if c in places and places[c][1]}
    return Recommendations(
        model=version,
        cities=ranked,
        total=len(kept),
        swipe_count=profile.swipe_count,
        narrowing=narrowing,
        continents=sorted({geo.continent_of(code) for code in codes} - {""}),
        countries=sorted(codes.items(), key=lambda item: item[1]),
    )


@dataclass
class TasteExample:
    word: str
    photo: Photo


@dataclass
class TasteInWords:
    taste: taste.Taste
    examples: list[TasteExample]
    looks: list[Photo] = field(default_factory=list)  # a liked photo per look the scorer sees you like


LOOKS_SHOWN = 3


def favourite_looks(profile: UserProfile, liked_ids: list[int]) -> list[Photo]:
    """A liked photo for each look (the scorer's clusters) the person likes most, where the configured
    scorer has looks (multi_taste, city_and_look); none otherwise."""
    version = profile.scores_model
    if version is None or not profile.scores or not liked_ids:
        return []
    engine = engine_for(version)
    liked = engine.indices(dict.fromkeys(liked_ids))
    chosen = engine.scorer.favourite_looks(current_state(profile, version), liked, LOOKS_SHOWN)
    ids = [int(engine.photo_ids[i]) for i in chosen]
    photos = Photo.objects.servable().in_bulk(ids)
    return [photos[pid] for pid in ids if pid in photos]


def taste_in_words(profile: UserProfile, subject: str = "you") -> TasteInWords:
    """What the person goes for and skips (from the scene words of their live swipes), with the most recent
    liked photo that shows each thing they go for."""
    log = live_log(profile)
    liked_ids = [photo_id for photo_id, is_like in log if is_like]
    disliked_ids = [photo_id for photo_id, is_like in log if not is_like]
    words = taste.describe_taste(
        dict(scene_tag_counts(liked_ids)) if liked_ids else {},
        dict(scene_tag_counts(disliked_ids)) if disliked_ids else {},
        len(liked_ids),
        len(disliked_ids),
        subject,
    )
    looks = favourite_looks(profile, liked_ids) if words.enough else []
    if not words.goes_for:
        return TasteInWords(words, [], looks)
    tags_of = dict(Photo.objects.filter(pk__in=liked_ids).values_list("pk", "scene_tags"))
    picked: dict[str, int] = {}
    for photo_id in reversed(liked_ids):  # the latest like first
        for word in words.goes_for:
            if (
                word not in picked
                and word in (tags_of.get(photo_id) or [])
                and photo_id not in picked.values()
            ):
                picked[word] = photo_id
    photos = Photo.objects.servable().select_related("city").in_bulk(picked.values())
    examples = [TasteExample(w, photos[picked[w]]) for w in words.goes_for if picked.get(w) in photos]
    return TasteInWords(words, examples, looks)
