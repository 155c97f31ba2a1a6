"""Replaying every profile's swipe log under the active model (the rescore job), in chunks.

A chunk's logs are read in one query and replayed with no lock held; then the chunk is written
WRITE_GROUP rows per short transaction: the group's rows are locked, each profile is checked to be
unchanged since its log was read (its updated_at), and the group's states are written in one statement. A profile that swiped,
undid or reset meanwhile is left out of that write and replayed on its own under its lock
(services.rebuild_scores), so nothing it did is lost, and a swipe never waits longer than one group's write.
"""

from collections import defaultdict

from django.db import transaction

from mlworker.selectors import active_model

from .engine import Engine, refresh_engine
from .models import Swipe, UserProfile
from .services import rebuild_scores

CHUNK = 250  # profiles per chunk: their logs are read in one query
WRITE_GROUP = 25  # profiles per locked write


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


def _live_logs(profile_ids: list[int]) -> dict[int, list[tuple[int, bool]]]:
    """profile id -> [(photo id, liked)] of its live swipes, oldest first (selectors.live_log's shape for
    many profiles); one query."""
    logs = defaultdict(list)
    rows = (
        Swipe.objects.live()
        .filter(profile_id__in=profile_ids)
        .order_by("profile_id", "id")
        .values_list("profile_id", "photo_id", "liked")
    )
    for profile_id, photo_id, liked in rows:
        logs[profile_id].append((photo_id, liked))
    return logs


def _last_changed(profile_ids: list[int]) -> dict[int, object]:
    """profile id -> updated_at. Every change to a profile's log (a swipe, an undo, a reset, a login merge)
    saves the profile under its lock, which stamps updated_at; so an unchanged stamp means an unchanged log.
    (A count or the latest id would not do: a merge can swap one answer for another and keep both.)"""
    return dict(UserProfile.objects.filter(pk__in=profile_ids).values_list("pk", "updated_at"))


def rescore_chunk(profile_ids: list[int], engine: Engine) -> list[int]:
    """Replay and save these profiles' states; returns the ones whose log changed meanwhile (not saved)."""
    stamps = _last_changed(profile_ids)  # read before the logs: a change in between is caught, not missed
    logs = _live_logs(profile_ids)
    replayed = {}
    for profile_id in stamps:
        log = logs.get(profile_id, [])
        state = engine.replay(log)
        replayed[profile_id] = (engine.scorer.state_to_bytes(state), len(log))
    changed = []  # (a profile deleted meanwhile has no stamp or row: nothing to write or replay)
    ids = sorted(replayed)
    # Written a few rows per transaction, so a swipe on one of them waits for a few rows' write at most.
    for start in range(0, len(ids), WRITE_GROUP):
        with transaction.atomic():
            rows = list(
                UserProfile.objects.select_for_update()
                .filter(pk__in=ids[start : start + WRITE_GROUP])
                .order_by("id")
                .only("id", "updated_at", "merged_into")
            )
            saved = []
            for profile in rows:
                if profile.merged_into_id or profile.updated_at != stamps[profile.pk]:
                    changed.append(profile.pk)
                    continue
                profile.scores, profile.swipe_count = replayed[profile.pk]
                profile.scores_model = engine.version
                saved.append(profile)
            # bulk_update leaves updated_at alone: a rescore is not a change the person made.
            UserProfile.objects.bulk_update(saved, ["scores", "scores_model", "swipe_count"])
    return changed
