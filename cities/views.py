"""Public city pages: a city's photos and the words that describe them. Its look-alikes come from the photo
model; the page loads them from mlworker's page with htmx (cities never reads the model)."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from . import selectors
from .models import City


@require_GET
def city_detail(request, slug: str):
    city = get_object_or_404(City, slug=slug)
    context = {
        "city": city,
        "photos": selectors.city_photos(city),
        "scene_tags": selectors.city_scene_tags(city),
    }
    return render(request, "cities/detail.html", context)
