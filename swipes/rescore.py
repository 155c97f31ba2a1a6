"""Replaying every profile's swipe log under the active model (the rescore job), in chunks.

A chunk's logs are read in one query and replayed with no lock held; then, in one short transaction, the
chunk's rows are locked, each profile's live log is checked to be the one replayed (its number of live
swipes and its latest live swipe), and the states are written in one statement. A profile that swiped,
undid or reset meanwhile is left out of that write and replayed on its own under its lock
(services.rebuild_scores), so nothing it did is lost, and a swipe never waits longer than one chunk's write.
"""

from collections import defaultdict

from django.db import transaction
from django.db.models import Count, Max

from mlworker.selectors import active_model

from .engine import Engine, refresh_engine
from .models import Swipe, UserProfile
from .services import rebuild_scores

CHUNK = 250  # profiles per chunk: one read, one locked write of this many rows


def rescore_all_profiles(progress=None, chunk: int = CHUNK) -> int:
    """Replay every profile's log under the active model. `progress(done, total)` is called per chunk."""
    version = active_model()
    # Under the newest stored catalogue, not this process's cached one.
    engine = refresh_engine(version) if version is not None else None
    # Rows left behind by a login merge hold no swipes: nothing to replay.
    profile_ids = list(
        UserProfile.objects.filter(merged_into__isnull=True).order_by("id").values_list("id", flat=True)
    )
    for start in range(0, len(profile_ids), chunk):
        ids = profile_ids[start : start + chunk]
        if engine is None:  # no model: every profile's scores are cleared
            UserProfile.objects.filter(pk__in=ids).update(scores=b"", scores_model=None)
        else:
            for profile_id in rescore_chunk(ids, engine):
                profile = UserProfile.objects.filter(pk=profile_id).first()
                if profile is not None:
                    rebuild_scores(profile, version)
        if progress:
            progress(min(start + chunk, len(profile_ids)), len(profile_ids))
    return len(profile_ids)


def _live_logs(profile_ids: list[int]) -> dict[int, list[tuple[int, int, bool]]]:
    """profile id -> [(swipe id, photo id, liked)] of its live swipes, oldest first; one query."""
    logs = defaultdict(list)
    rows = (
        Swipe.objects.live()
        .filter(profile_id__in=profile_ids)
        .order_by("profile_id", "id")
        .values_list("profile_id", "id", "photo_id", "liked")
    )
    for profile_id, swipe_id, photo_id, liked in rows:
        logs[profile_id].append((swipe_id, photo_id, liked))
    return logs


def _signatures(profile_ids: list[int]) -> dict[int, tuple[int, int]]:
    """profile id -> (live swipes, latest live swipe id); a swipe, an undo, a reset or a merge changes it."""
    rows = (
        Swipe.objects.live()
        .filter(profile_id__in=profile_ids)
        .values("profile_id")
        .annotate(n=Count("id"), last=Max("id"))
        .values_list("profile_id", "n", "last")
    )
    return {profile_id: (n, last) for profile_id, n, last in rows}


def rescore_chunk(profile_ids: list[int], engine: Engine) -> list[int]:
    """Replay and save these profiles' states; returns the ones whose log changed meanwhile (not saved)."""
    logs = _live_logs(profile_ids)
    replayed = {}
    for profile_id in profile_ids:
        log = logs.get(profile_id, [])
        state = engine.replay([(photo_id, liked) for _, photo_id, liked in log])
        signature = (len(log), log[-1][0]) if log else (0, None)
        replayed[profile_id] = (signature, engine.scorer.state_to_bytes(state), len(log))
    changed = []
    with transaction.atomic():
        rows = list(UserProfile.objects.select_for_update().filter(pk__in=profile_ids).order_by("id"))
        now = _signatures(profile_ids)
        for profile in rows:
            signature, scores, live = replayed[profile.pk]
            if profile.merged_into_id or now.get(profile.pk, (0, None)) != signature:
                changed.append(profile.pk)
                continue
            profile.scores, profile.scores_model, profile.swipe_count = scores, engine.version, live
        left_out = set(changed)
        saved = [p for p in rows if p.pk not in left_out]
        UserProfile.objects.bulk_update(saved, ["scores", "scores_model", "swipe_count"])
    return changed
