"""Profiles: who is swiping, merging a visitor's swipes into an account at login, and removing empty
anonymous profiles.

A visitor is known by the random token of its cookie (swipes/visitors.py). Looking at a card reads a
profile and never creates one; the first swipe get-or-creates it by the token, which is unique, so one
visitor's parallel first requests share one row.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from mlworker.selectors import active_model

from .models import Swipe, UserProfile
from .services import save_replayed_scores

# How long after a login a request still carrying the visitor's token (one in flight during the login)
# reaches the account's profile. Afterwards the token leads nowhere: the browser dropped it at login.
MERGE_GRACE = timedelta(minutes=2)
# Anonymous profiles without a single swipe are removed when idle this long (swipes.tasks, on the beat).
EMPTY_PROFILE_MAX_AGE = timedelta(days=1)


def find_profile(user, visitor_token: str | None) -> UserProfile | None:
    """The signed-in user's profile, or the visitor's; None when there is none yet."""
    if user.is_authenticated:
        return UserProfile.objects.filter(user=user).first()
    if not visitor_token:
        return None
    profile = UserProfile.objects.filter(visitor_token=visitor_token).first()
    if profile is None or profile.merged_into_id is None:
        return profile
    # The visitor logged in; the row it leaves behind was saved (updated_at) by the merge.
    if profile.updated_at >= timezone.now() - MERGE_GRACE:
        return UserProfile.objects.filter(pk=profile.merged_into_id).first()
    return None


def profile_for_reading(user, visitor_token: str | None) -> UserProfile:
    """find_profile, or else a blank unsaved profile (first round, no swipes) of this visitor or account:
    enough to deal the first card without writing a row (selectors.card_seed)."""
    profile = find_profile(user, visitor_token)
    if profile is not None:
        return profile
    return UserProfile(user=user) if user.is_authenticated else UserProfile(visitor_token=visitor_token)


def profile_for_writing(user, visitor_token: str) -> UserProfile:
    """The profile a swipe (or a reshuffle) writes to, created on first use."""
    if user.is_authenticated:
        return UserProfile.objects.get_or_create(user=user)[0]
    profile = find_profile(user, visitor_token)
    if profile is not None:
        return profile
    # A row left by a login longer than MERGE_GRACE ago gives its token back (it holds no swipes).
    UserProfile.objects.filter(
        visitor_token=visitor_token, merged_into__isnull=False, swipes__isnull=True
    ).delete()
    return UserProfile.objects.get_or_create(visitor_token=visitor_token)[0]


# --- logging in -----------------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class MergeOutcome:
    profile: UserProfile  # the account's, after the merge
    brought: int = 0  # the visitor's live swipes before the merge
    kept: int = 0  # of those, the ones that count in the account afterwards
    replaced: int = 0  # photos the account had rated before that now have the visitor's newer answer
    outvoted: int = 0  # photos whose account answer is newer than the visitor's, and stands

    def message(self) -> str:
        """What happened to the swipes made before logging in, in words ("" when there were none)."""
        if not self.brought:
            return ""
        if self.kept == self.brought:
            parts = ["Kept your swipe" if self.kept == 1 else f"Kept all {self.kept} of your swipes"]
        else:
            parts = [f"Kept {self.kept} of your {_plural(self.brought, 'swipe')}"]
        if self.replaced:
            have = "has" if self.replaced == 1 else "have"
            parts.append(
                f"{_plural(self.replaced, 'photo')} you had rated before now {have} your newer answer"
            )
        if self.outvoted:
            parts.append(
                f"for {_plural(self.outvoted, 'photo')} your account's answer was newer, so it stands"
            )
        return "; ".join(parts) + "."


def attach_visitor_to_user(visitor_token: str | None, user) -> MergeOutcome | None:
    """Right after a login or signup: the visitor's anonymous profile, if it has one, merges into the
    account's (created if need be). None when the visitor had swiped nothing."""
    anonymous = (
        UserProfile.objects.filter(
            visitor_token=visitor_token, user__isnull=True, merged_into__isnull=True
        ).first()
        if visitor_token
        else None
    )
    if anonymous is None:
        return None
    account = UserProfile.objects.get_or_create(user=user)[0]
    return merge_profiles(anonymous, account)


def _newest_answer_at(profile: UserProfile) -> dict[int, object]:
    """photo id -> when this profile last rated it (live swipes only)."""
    rows = profile.swipes.live().values("photo_id").annotate(at=Max("created_at"))
    return {row["photo_id"]: row["at"] for row in rows}


def _shift_rounds(profile: UserProfile, by: int) -> None:
    """Renumber the profile's rounds upwards, the latest first, so no two live swipes of one photo ever
    share a round on the way (the unique constraint is checked row by row)."""
    if by <= 0:
        return
    rounds = sorted(set(Swipe.objects.filter(profile=profile).values_list("round", flat=True)), reverse=True)
    for number in rounds:
        Swipe.objects.filter(profile=profile, round=number).update(round=number + by)


def merge_profiles(source: UserProfile, target: UserProfile) -> MergeOutcome:
    """Move a visitor's whole log (undone swipes too) into an account's profile; the newest opinion of
    each photo wins.

    For a photo rated in both logs, the log whose latest answer is older gives way: its live swipes of
    that photo are stamped undone (they stay in the log). The two logs' current rounds become the merged
    profile's current round. The scores replay in the same locked transaction. The visitor's row stays,
    empty, pointing at the account (see find_profile and services.lock_profile).
    """
    if source.pk == target.pk:
        return MergeOutcome(target)
    version = active_model()
    with transaction.atomic():
        rows = UserProfile.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")
        locked = {p.pk: p for p in rows}
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id:
            return MergeOutcome(target)  # merged by an earlier login
        theirs, ours = _newest_answer_at(source), _newest_answer_at(target)
        both = theirs.keys() & ours.keys()
        visitor_newer = {photo for photo in both if theirs[photo] > ours[photo]}
        account_newer = both - visitor_newer
        now = timezone.now()
        brought = source.swipes.live().count()
        target.swipes.live().filter(photo_id__in=visitor_newer).update(undone_at=now)
        source.swipes.live().filter(photo_id__in=account_newer).update(undone_at=now)
        kept = source.swipes.live().count()

        merged_round = max(source.round, target.round)
        _shift_rounds(target, merged_round - target.round)
        source.swipes.all().update(profile=target, round=F("round") + (merged_round - source.round))
        # The cities the visitor said they have been to go along (those the account has already are kept).
        source.visited.exclude(city_id__in=target.visited.values_list("city_id", flat=True)).update(
            profile=target
        )
        source.visited.all().delete()  # what is left the account had already
        if source.round > target.round:
            target.queue_salt = source.queue_salt  # carry on with the visitor's order of this round
        target.round = merged_round
        target.save(update_fields=["round", "queue_salt", "updated_at"])

        source.merged_into = target
        source.swipe_count, source.scores, source.scores_model = 0, b"", None
        source.save(update_fields=["merged_into", "swipe_count", "scores", "scores_model", "updated_at"])
        target = save_replayed_scores(target, version)
    return MergeOutcome(
        target, brought=brought, kept=kept, replaced=len(visitor_newer), outvoted=len(account_newer)
    )


# --- housekeeping ---------------------------------------------------------------------------------------


def remove_empty_anonymous_profiles(max_age: timedelta = EMPTY_PROFILE_MAX_AGE, batch: int = 1000) -> int:
    """Delete anonymous profiles that hold no swipe at all (not even an undone one) and were not touched
    for `max_age`: visitors who never swiped, and the rows logins leave behind. Returns how many."""
    cutoff = timezone.now() - max_age
    removed = 0
    while True:
        with transaction.atomic():
            empty = UserProfile.objects.filter(user__isnull=True, updated_at__lt=cutoff, swipes__isnull=True)
            ids = list(empty.values_list("pk", flat=True)[:batch])
            if not ids:
                return removed
            # A swipe locks its profile before it writes, so once these rows are locked here no swipe can
            # land in them unseen; the second look, under the lock, spares any that got one meanwhile.
            locked = UserProfile.objects.select_for_update(skip_locked=True).filter(pk__in=ids)
            locked_ids = list(locked.values_list("pk", flat=True))
            still_empty = UserProfile.objects.filter(pk__in=locked_ids, swipes__isnull=True)
            count, _ = still_empty.filter(updated_at__lt=cutoff).delete()
            removed += count
            if len(ids) < batch or not locked_ids:
                return removed
