"""Writes for the swipe loop: swipes, undo, reshuffle, reset and score rebuilds (profiles: profiles.py).

Every write that touches a profile's swipes or scores locks the profile row first (select_for_update) and
replays the scores inside that same transaction: two tabs swiping at once serialise instead of losing an
update, and a rebuild that fails takes the undo or reset back with it, so stale scores are never committed.
"""

import secrets
from dataclasses import dataclass, replace

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Subquery
from django.utils import timezone

from cities.models import Photo
from mlworker.models import ModelVersion
from mlworker.selectors import active_model

from . import selectors
from .engine import engine_for, forget_active_version
from .models import Swipe, UserProfile, VisitedCity

# Why a swipe did not count although its photo can be rated (SwipeOutcome.conflict).
OTHER_ANSWER = "other_answer"  # the photo already has the opposite answer this round (another tab)
OLD_ROUND = "old_round"  # the card was dealt before a reshuffle or reset (in another tab)

# What an undo did (UndoOutcome.status).
UNDONE = "undone"
ALREADY_UNDONE = "already_undone"  # a replayed POST: the named swipe was undone by the first one
NOT_LAST = "not_last"  # the named swipe is no longer the latest: another swipe came after it
NOTHING = "nothing"  # no such swipe of this profile in this round


class PhotoUnavailable(Exception):
    """The photo does not exist, is hidden, or has no vector under the active model."""


@dataclass(frozen=True)
class SwipeOutcome:
    profile: UserProfile  # as it stood after the swipe (no need to reload it)
    swipe: Swipe | None  # the swipe recorded, or the earlier one of this photo that stands
    counted: bool  # False when the photo had already been rated this round, or the card was stale
    conflict: str = ""  # OTHER_ANSWER or OLD_ROUND; "" for a plain repeat (a double click, a retry)
    overtaken: bool = False  # counted, but another tab had swiped or undone since this card was dealt
    city_name: str = ""  # the city the photo was filed under, for "That was Kyoto"
    # For dealing the next card without asking again: the photos of this round's live swipes (after this
    # one) and the state the swipe left, both read or computed under the profile's lock.
    seen_this_round: tuple[int, ...] | None = None
    state: np.ndarray | None = None
    version: ModelVersion | None = None  # the model the swipe counted under


@dataclass(frozen=True)
class UndoOutcome:
    profile: UserProfile
    status: str  # UNDONE, ALREADY_UNDONE, NOT_LAST or NOTHING
    swipe: Swipe | None = None


def lock_profile(profile: UserProfile, **annotations) -> UserProfile:
    """The profile's row, locked for this transaction. A visitor's profile that was merged into an account
    at login (profiles.merge_profiles) hands over to the account's, so a swipe in flight lands there.
    `annotations` ride along on the locking query (the swipe reads its photo's city that way)."""
    rows = UserProfile.objects.select_for_update().annotate(**annotations)
    locked = rows.filter(pk=profile.pk).first()
    if locked is None and profile.visitor_token:
        # Removed meanwhile as empty and idle (profiles.remove_empty_anonymous_profiles): start afresh.
        UserProfile.objects.get_or_create(visitor_token=profile.visitor_token)
        locked = rows.get(visitor_token=profile.visitor_token)
    if locked is None:
        raise UserProfile.DoesNotExist(f"profile {profile.pk} no longer exists")
    if locked.merged_into_id:
        return rows.get(pk=locked.merged_into_id)
    return locked


def save_replayed_scores(profile: UserProfile, version: ModelVersion | None) -> UserProfile:
    """Replay the live log of a profile the caller has locked, under `version`, and save the scores."""
    if version is None:
        profile.scores, profile.scores_model = b"", None
    else:
        engine = engine_for(version)
        profile.scores = engine.scorer.state_to_bytes(selectors.replayed_state(profile, version))
        profile.scores_model = version
    profile.swipe_count = profile.swipes.live().count()
    profile.save(update_fields=["scores", "scores_model", "swipe_count", "updated_at"])
    return profile


def rebuild_scores(profile: UserProfile, version: ModelVersion | None = None) -> UserProfile:
    """Replay the profile's swipe log under `version` (the active model by default) and save. Locks."""
    version = version or active_model()
    with transaction.atomic():
        return save_replayed_scores(lock_profile(profile), version)


def ensure_current_scores(profile: UserProfile) -> UserProfile:
    """Stored states follow the active model, scorer and catalogue; when any changed, the log replays."""
    version = active_model()
    if profile.pk is None or version is None or selectors.stored_state(profile, version) is not None:
        return profile
    return rebuild_scores(profile, version)


# --- the swipe loop --------------------------------------------------------------------------------------


def record_swipe(
    profile: UserProfile,
    photo_id: int,
    liked: bool,
    version: ModelVersion | None = None,
    *,
    shown_round: int | None = None,
    shown_after: int | None = None,
) -> SwipeOutcome:
    """Append a swipe and update the scorer's state, in one transaction.

    `version` is the active model when the caller has just looked it up; by default it is looked up here.
    `shown_round` and `shown_after` say where the profile stood when the card was dealt (its round, and its
    latest live swipe then, 0 for none), so that a card from another tab's past is told apart.
    """
    version = version or active_model()
    # The engine's catalogue is the photos with a vector under the version; whether the photo may still be
    # served is checked under the profile's lock (_record).
    engine = engine_for(version) if version is not None else None
    if engine is None or photo_id not in engine.index_of:
        raise PhotoUnavailable(f"photo {photo_id} is not in the swipe queue")
    try:
        outcome = _record(profile, photo_id, liked, version, engine, shown_round, shown_after)
    except IntegrityError:
        # Foreign keys are checked at commit: the photo, or the model this process was still serving, was
        # deleted meanwhile. A label-only baseline is deleted when a new one replaces it, and the swipe loop
        # keeps serving the previous model until the new one's engine is loaded (engine.active_version):
        # count the swipe under the model that is active now.
        if not ModelVersion.objects.filter(pk=version.pk).exists():
            forget_active_version()
            return record_swipe(
                profile, photo_id, liked, active_model(), shown_round=shown_round, shown_after=shown_after
            )
        if Photo.objects.filter(pk=photo_id).exists():
            raise
        raise PhotoUnavailable(f"photo {photo_id} was deleted meanwhile") from None
    return replace(outcome, version=version)


def _record(profile, photo_id, liked, version, engine, shown_round, shown_after) -> SwipeOutcome:
    # The photo's city (for "That was Kyoto") comes with the lock, in the same query; None when the photo
    # may no longer be served (hidden or deleted since the card was dealt), and then nothing is written.
    city_of_photo = Photo.objects.servable().filter(pk=photo_id).values("city__name")[:1]
    with transaction.atomic():
        profile = lock_profile(profile, swiped_city=Subquery(city_of_photo))
        if profile.swiped_city is None:
            raise PhotoUnavailable(f"photo {photo_id} is not in the swipe queue")
        if shown_round is not None and shown_round != profile.round:
            return SwipeOutcome(profile, None, counted=False, conflict=OLD_ROUND)
        # One read of this round's live swipes answers the duplicate check, where the profile stands
        # (for `overtaken`) and, after the insert, which photos the next card must not repeat.
        this_round = list(Swipe.objects.live().in_round(profile).values_list("id", "photo_id"))
        existing_id = next((pk for pk, photo in this_round if photo == photo_id), None)
        if existing_id is not None:
            existing = Swipe.objects.get(pk=existing_id)
            conflict = "" if existing.liked == liked else OTHER_ANSWER
            return SwipeOutcome(profile, existing, counted=False, conflict=conflict)
        overtaken = shown_after is not None and shown_after != max((pk for pk, _ in this_round), default=0)
        state = selectors.current_state(profile, version)
        # No savepoint is needed around the insert: the duplicate check above ran under the profile's row
        # lock (Postgres) or inside an IMMEDIATE transaction (SQLite), so no concurrent swipe can race it.
        swipe = Swipe.objects.create(profile=profile, photo_id=photo_id, liked=liked, round=profile.round)
        state = engine.scorer.update(state, engine.index_of[photo_id], liked)
        profile.scores = engine.scorer.state_to_bytes(state)
        profile.scores_model = version
        profile.swipe_count += 1
        profile.save(update_fields=["scores", "scores_model", "swipe_count", "updated_at"])
    seen = (*(photo for _, photo in this_round), photo_id)
    return SwipeOutcome(
        profile,
        swipe,
        counted=True,
        overtaken=overtaken,
        city_name=profile.swiped_city,
        seen_this_round=seen,
        state=state,
    )


def undo_swipe(profile: UserProfile, swipe_id: int) -> UndoOutcome:
    """Take back the named swipe if it is still the latest live one of this round: the log keeps it,
    stamped undone, and the scores replay in the same locked transaction. A replayed POST (a double click)
    finds it undone already and undoes nothing more; an undo from a card that another swipe has since
    overtaken undoes nothing."""
    if profile.pk is None:
        return UndoOutcome(profile, NOTHING)
    version = active_model()
    with transaction.atomic():
        profile = lock_profile(profile)
        named = Swipe.objects.filter(pk=swipe_id, profile=profile, round=profile.round).first()
        if named is None:
            return UndoOutcome(profile, NOTHING)
        if named.undone_at is not None:
            return UndoOutcome(profile, ALREADY_UNDONE, named)
        if Swipe.objects.live().in_round(profile).filter(pk__gt=named.pk).exists():
            return UndoOutcome(profile, NOT_LAST, named)
        named.undone_at = timezone.now()
        named.save(update_fields=["undone_at"])
        profile = save_replayed_scores(profile, version)
    return UndoOutcome(profile, UNDONE, named)


def reshuffle(profile: UserProfile) -> UserProfile:
    """Start a new round over all photos, in a new order. Scores and history stay."""
    with transaction.atomic():
        profile = lock_profile(profile)
        profile.round += 1
        profile.queue_salt = secrets.randbits(52)
        profile.save(update_fields=["round", "queue_salt", "updated_at"])
    return profile


def reset_profile(profile: UserProfile) -> UserProfile:
    """Forget this person's taste: every live swipe is stamped undone, scores go back to the start, and a
    new round begins; all in one locked transaction, so a failed rebuild leaves everything as it was."""
    version = active_model()
    with transaction.atomic():
        profile = lock_profile(profile)
        profile.swipes.live().update(undone_at=timezone.now())
        profile.round += 1
        profile.queue_salt = secrets.randbits(52)
        profile.save(update_fields=["round", "queue_salt", "updated_at"])
        return save_replayed_scores(profile, version)


# --- preferences ----------------------------------------------------------------------------------------


def set_visited(profile: UserProfile, city_id: int, been: bool) -> None:
    """Mark (or unmark) a city as one the person has been to. Idempotent."""
    if been:
        VisitedCity.objects.get_or_create(profile=profile, city_id=city_id)
    else:
        VisitedCity.objects.filter(profile=profile, city_id=city_id).delete()


def set_reveal_city(profile: UserProfile, reveal: bool) -> UserProfile:
    profile.reveal_city = reveal
    profile.save(update_fields=["reveal_city", "updated_at"])
    return profile
