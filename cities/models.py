import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from .licences import credited_author


class City(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120)
    country = models.CharField(max_length=80, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "cities"

    def __str__(self):
        return self.name


def new_queue_key() -> int:
    """A random position in the global swipe queue, as in the original design (photos shuffled once)."""
    return secrets.randbits(52)


class PhotoQuerySet(models.QuerySet):
    def servable(self):
        """Photos a swipe card may show: active, and not below VIBES_MIN_PHOTO_QUALITY (never assessed is fine).

        The one definition the swipe queue, the recommendation engine and the city pages use.
        """
        return self.filter(servable_q())


def servable_q(prefix: str = "") -> Q:
    """servable() as a Q object, for queries on related models (prefix "photo__")."""
    quality = Q(**{f"{prefix}quality__isnull": True}) | Q(
        **{f"{prefix}quality__gte": settings.VIBES_MIN_PHOTO_QUALITY}
    )
    return Q(**{f"{prefix}status": Photo.Status.ACTIVE}) & quality


class Photo(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        HIDDEN = "hidden", "Hidden"

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="photos/%Y/%m/")
    thumbnail = models.ImageField(upload_to="thumbs/%Y/%m/", blank=True)
    source_url = models.URLField(max_length=1000, blank=True)
    queue_key = models.BigIntegerField(default=new_queue_key, unique=True)
    sha256 = models.CharField(max_length=64, unique=True)
    perceptual_hash = models.CharField(max_length=32, blank=True, db_index=True)
    width = models.PositiveIntegerField(default=0, help_text="Of the stored (downscaled) image.")
    height = models.PositiveIntegerField(default=0)
    source = models.CharField(
        max_length=40, default="upload", help_text="upload, import, synthetic, wikimedia…"
    )
    author = models.CharField(max_length=300, blank=True)
    licence = models.CharField(max_length=120, blank=True)
    licence_url = models.URLField(max_length=500, blank=True)
    quality = models.FloatField(
        null=True, blank=True, db_index=True, help_text="0..1, higher is better; empty until assessed."
    )
    junk = models.FloatField(
        null=True, blank=True, help_text="0..1: how likely it is not a photo of a place."
    )
    city_fit = models.FloatField(null=True, blank=True, help_text="0..1: how well it fits its city.")
    suspect = models.BooleanField(
        default=False, db_index=True, help_text="Probably junk or filed under the wrong city; not trained on."
    )
    scene_tags = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    status_decided_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When an admin last hid or showed it (the junk detector learns from it).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PhotoQuerySet.as_manager()

    class Meta:
        ordering = ["queue_key"]
        # The admin's ways to add photos in bulk (cities/admin.py), each granted on its own.
        permissions = [
            ("upload_photos", "Can upload photos"),
            ("scrape_photos", "Can scrape photos from the web"),
        ]

    def __str__(self):
        return f"{self.city.name} #{self.pk}"

    @property
    def is_synthetic(self) -> bool:
        return self.source == "synthetic"

    @property
    def alt_text(self) -> str:
        """What the photo shows, for a screen reader, from its scene tags ("A photo with coast, bridge and
        old town"). Never the city: on the swipe card that would give the answer away."""
        tags = [str(t).replace("_", " ") for t in (self.scene_tags or [])][:4]
        if tags:
            listed = tags[0] if len(tags) == 1 else ", ".join(tags[:-1]) + " and " + tags[-1]
            return f"A photo with {listed}"
        return "A drawn postcard of a cityscape" if self.is_synthetic else "A photo of a place"

    @property
    def credit_line(self) -> str:
        """ "© Jane · CC BY-SA 4.0 · wikimedia"; no "©" for CC0 and public-domain photos."""
        parts = [p for p in (self.credited_author, self.licence, self.credited_source) if p]
        return " · ".join(parts)

    @property
    def credit_parts(self) -> list[tuple[str, str, str]]:
        """(text, link, kind) for a credit with links: the author linked to the source page, the licence
        to its text (CC BY asks for that link), then the source."""
        author, source = self.credited_author, self.credited_source
        parts = []
        if author or self.source_url:
            parts.append((author or source or "source", self.source_url, "credit"))
        if self.licence:
            parts.append((self.licence, self.licence_url, "licence"))
        if source and (author or not self.source_url):
            parts.append((source, "", "source"))
        return parts

    @property
    def credited_author(self) -> str:
        return credited_author(self.author, self.licence)

    @property
    def credited_source(self) -> str:
        return "" if self.is_synthetic else self.source  # the card shows a "synthetic postcard" badge
