"""Reads for cities and photos."""

from .models import City, Photo


def city_photos(city: City, limit: int = 24):
    return city.photos.servable().order_by("-created_at")[:limit]


def scene_tag_counts(photo_ids) -> list[tuple[str, int]]:
    """(scene word, number of photos with it) over the given photos (ids, or a queryset of them, which runs as
    a subquery), most common first (ties by word)."""
    counts: dict[str, int] = {}
    for tags in Photo.objects.filter(pk__in=photo_ids).values_list("scene_tags", flat=True):
        for tag in tags or []:
            counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def city_scene_tags(city: City, limit: int = 8) -> list[tuple[str, int]]:
    """The most common scene words among a city's servable photos."""
    return scene_tag_counts(city.photos.servable().values_list("pk", flat=True))[:limit]
