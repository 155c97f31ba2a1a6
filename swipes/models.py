from django.conf import settings
from django.db import models
from django.db.models import Q


class UserProfile(models.Model):
    """A swiper: a user account, or an anonymous visitor, known by the random token in its visitor cookie
    (swipes/visitors.py). A profile is created by the first swipe, never by looking at a card.

    `scores` caches the configured scorer's state (swipes.recommender: bytes with a header naming the scorer and
    catalogue) under `scores_model`. It is always rebuildable from the Swipe log (services.rebuild_scores).

    When a visitor logs in, its profile's swipes move into the account's and the anonymous row stays behind,
    empty, pointing at the account (`merged_into`): a swipe that was in flight during the login still lands
    in the account. Empty anonymous rows are removed after a day (services.remove_empty_anonymous_profiles).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="vibes_profile",
    )
    # Unique, so one visitor's parallel first swipes get-or-create the same row.
    visitor_token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
        help_text="The account this anonymous profile's swipes moved into when its visitor logged in.",
    )
    round = models.PositiveIntegerField(default=1, help_text="Increases on each reshuffle.")
    queue_salt = models.BigIntegerField(
        default=0, help_text="Permutes the global queue; 0 in the first round."
    )
    swipe_count = models.PositiveIntegerField(default=0)
    scores_model = models.ForeignKey(
        "mlworker.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scores = models.BinaryField(default=b"")
    reveal_city = models.BooleanField(
        default=True,
        help_text='After each swipe, say which city the photo was filed under ("That was Kyoto").',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("rescore_profiles", "Can recompute every profile's scores")]

    def __str__(self):
        if self.user_id:
            return self.user.get_username()
        return f"anonymous #{self.pk}" + (" (merged into an account)" if self.merged_into_id else "")


class SwipeQuerySet(models.QuerySet):
    def live(self):
        """The swipes that count: undo and reset stamp `undone_at` and keep the row in the log."""
        return self.filter(undone_at__isnull=True)

    def in_round(self, profile_or_round: "UserProfile | int"):
        """Swipes of one round: a profile's current round (its own swipes only), or a round number."""
        if isinstance(profile_or_round, UserProfile):
            return self.filter(profile=profile_or_round, round=profile_or_round.round)
        return self.filter(round=profile_or_round)


class Swipe(models.Model):
    """One like or dislike. The log is append-only; undo stamps `undone_at` rather than deleting.

    A photo with swipes is never deleted (PROTECT): the admin retires it instead (hidden, so it leaves the
    queue, while its swipes keep counting in every replay).
    """

    profile = models.ForeignKey(UserProfile, on_delete=models.CASCADE, related_name="swipes")
    photo = models.ForeignKey("cities.Photo", on_delete=models.PROTECT, related_name="swipes")
    liked = models.BooleanField()
    round = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    objects = SwipeQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            # A double click or a retry of the same swipe counts once per round.
            models.UniqueConstraint(
                fields=["profile", "photo", "round"],
                condition=Q(undone_at__isnull=True),
                name="one_live_swipe_per_photo_and_round",
            )
        ]
        indexes = [models.Index(fields=["profile", "id"])]

    def __str__(self):
        return f"{self.profile} {'♥' if self.liked else '✗'} {self.photo_id}"


class VisitedCity(models.Model):
    """A city the person has been to: "hide cities I've been to" leaves it out of their ranking."""

    profile = models.ForeignKey(UserProfile, on_delete=models.CASCADE, related_name="visited")
    city = models.ForeignKey("cities.City", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["profile", "city"], name="one_visit_per_city")]
        verbose_name_plural = "visited cities"

    def __str__(self):
        return f"{self.profile} has been to {self.city_id}"
