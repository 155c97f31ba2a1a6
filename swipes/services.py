"""Writes for the swipe loop: profiles, swipes, undo, reshuffle, reset and score rebuilds.

Every write that touches a profile's scores locks the profile row first (select_for_update), so two tabs
swiping at once serialise instead of losing an update.
"""

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from cities.models import Photo
from mlworker.models import ModelVersion
from mlworker.selectors import active_model

from . import selectors
from .engine import engine_for
from .models import Swipe, UserProfile

SESSION_PROFILE_KEY = selectors.SESSION_PROFILE_KEY


class PhotoUnavailable(Exception):
    """The photo does not exist, is hidden, or has no vector under the active model."""


@dataclass(frozen=True)
class SwipeOutcome:
    swipe: Swipe
    counted: bool  # False when the same swipe had already been recorded (double click, retry)
    profile: UserProfile  # as it stood when the swipe was recorded (no need to reload it)


# --- profiles -------------------------------------------------------------------------------------------


def profile_for_request(request: HttpRequest) -> UserProfile:
    """The signed-in user's profile, or one tied to the anonymous session (created on first use)."""
    if request.user.is_authenticated:
        profile, _ = UserProfile.objects.get_or_create(user=request.user)
        return profile
    profile_id = request.session.get(SESSION_PROFILE_KEY)
    if profile_id:
        profile = UserProfile.objects.filter(pk=profile_id, user__isnull=True).first()
        if profile:
            return profile
    profile = UserProfile.objects.create()
    request.session[SESSION_PROFILE_KEY] = profile.pk  # kept on the server; the cookie holds a random key
    return profile


def rebuild_scores(profile: UserProfile, version: ModelVersion | None = None) -> UserProfile:
    """Replay the profile's swipe log under `version` (the active model by default) and save. Locks."""
    version = version or active_model()
    with transaction.atomic():
        profile = UserProfile.objects.select_for_update().get(pk=profile.pk)
        if version is None:
            profile.scores, profile.scores_model = b"", None
        else:
            engine = engine_for(version)
            profile.scores = engine.scorer.state_to_bytes(selectors.replayed_state(profile, version))
            profile.scores_model = version
        profile.swipe_count = profile.swipes.live().count()
        profile.save(update_fields=["scores", "scores_model", "swipe_count", "updated_at"])
    return profile


def ensure_current_scores(profile: UserProfile) -> UserProfile:
    """Stored states follow the active model, scorer and catalogue; when any changed, the log replays."""
    version = active_model()
    if version is None or selectors.stored_state(profile, version) is not None:
        return profile
    return rebuild_scores(profile, version)


# --- the swipe loop --------------------------------------------------------------------------------------


def record_swipe(
    profile: UserProfile, photo_id: int, liked: bool, version: ModelVersion | None = None
) -> SwipeOutcome:
    """Append a swipe and update the scorer's state, in one transaction.

    `version` is the active model when the caller has just looked it up; by default it is looked up here.
    """
    version = version or active_model()
    in_queue = (
        version is not None
        and Photo.objects.servable().filter(pk=photo_id, predictions__model_version=version).exists()
    )
    engine = engine_for(version) if in_queue else None
    if engine is None or photo_id not in engine.index_of:
        raise PhotoUnavailable(f"photo {photo_id} is not in the swipe queue")
    with transaction.atomic():
        profile = UserProfile.objects.select_for_update().get(pk=profile.pk)
        existing = Swipe.objects.live().in_round(profile).filter(photo_id=photo_id).first()
        if existing:
            return SwipeOutcome(existing, counted=False, profile=profile)
        state = selectors.current_state(profile, version)
        # No savepoint is needed around the insert: the duplicate check above ran under the profile's row
        # lock (Postgres) or inside an IMMEDIATE transaction (SQLite), so no concurrent swipe can race it.
        swipe = Swipe.objects.create(profile=profile, photo_id=photo_id, liked=liked, round=profile.round)
        state = engine.scorer.update(state, engine.index_of[photo_id], liked)
        profile.scores = engine.scorer.state_to_bytes(state)
        profile.scores_model = version
        profile.swipe_count += 1
        profile.save(update_fields=["scores", "scores_model", "swipe_count", "updated_at"])
    return SwipeOutcome(swipe, counted=True, profile=profile)


def undo_last_swipe(profile: UserProfile) -> Swipe | None:
    """Take back the latest swipe of this round: the log keeps it, stamped undone, and scores replay."""
    with transaction.atomic():
        profile = UserProfile.objects.select_for_update().get(pk=profile.pk)
        last = Swipe.objects.live().in_round(profile).last()
        if last is None:
            return None
        last.undone_at = timezone.now()
        last.save(update_fields=["undone_at"])
    rebuild_scores(profile)
    return last


def reshuffle(profile: UserProfile) -> UserProfile:
    """Start a new round over all photos, in a new order. Scores and history stay."""
    with transaction.atomic():
        profile = UserProfile.objects.select_for_update().get(pk=profile.pk)
        profile.round += 1
        profile.queue_salt = secrets.randbits(52)
        profile.save(update_fields=["round", "queue_salt", "updated_at"])
    return profile


def reset_profile(profile: UserProfile) -> UserProfile:
    """Forget this person's taste: every live swipe is stamped undone, scores go to zero, a new round."""
    with transaction.atomic():
        profile = UserProfile.objects.select_for_update().get(pk=profile.pk)
        profile.swipes.live().update(undone_at=timezone.now())
    reshuffle(profile)
    return rebuild_scores(profile)


def merge_profiles(source: UserProfile, target: UserProfile) -> UserProfile:
    """Move an anonymous profile's swipes into an account's profile (on login), then rebuild its scores.

    Swipes on photos the account already rated are dropped; the log order is kept by id.
    """
    if source.pk == target.pk:
        return target
    with transaction.atomic():
        locked = {
            p.pk: p for p in UserProfile.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
        }
        source, target = locked[source.pk], locked[target.pk]
        rated = set(target.swipes.live().values_list("photo_id", flat=True))
        moving = source.swipes.live().exclude(photo_id__in=rated)
        moving.update(profile=target)
        source.delete()
    return rebuild_scores(target)


def attach_session_profile_to_user(profile_id: int | None, user) -> UserProfile:
    """Called right after login with the anonymous profile the session had (if any)."""
    anonymous = UserProfile.objects.filter(pk=profile_id, user__isnull=True).first() if profile_id else None
    account = UserProfile.objects.filter(user=user).first()
    if anonymous and account is None:
        anonymous.user = user
        anonymous.save(update_fields=["user", "updated_at"])
        return anonymous
    account = account or UserProfile.objects.create(user=user)
    return merge_profiles(anonymous, account) if anonymous else account


def rescore_all_profiles(progress=None) -> int:
    """Replay every profile's log under the active model. `progress(done, total)` is called as it goes."""
    version = active_model()
    profile_ids = list(UserProfile.objects.order_by("id").values_list("id", flat=True))
    for done, profile_id in enumerate(profile_ids, start=1):
        profile = UserProfile.objects.filter(pk=profile_id).first()
        if profile:
            rebuild_scores(profile, version)
        if progress:
            progress(done, len(profile_ids))
    return len(profile_ids)
