"""Public city pages: a city's photos and look-alikes, and the similarity heatmap."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from . import selectors
from .models import City, ModelVersion

SIMILAR_SHOWN = 6
HEATMAP_MAX_CITIES = 40
HEATMAP_CELL = 28  # px per city pair
HEATMAP_MARGIN = 130  # room for the city names left of and above the grid


def _is_baseline(version: ModelVersion | None) -> bool:
    return version is None or version.backbone == ModelVersion.LABEL_ONLY


@require_GET
def city_detail(request, slug: str):
    city = get_object_or_404(City, slug=slug)
    sim = selectors.city_similarity()
    similar = []
    index = sim.index_of(city.pk) if sim else None
    if index is not None and not _is_baseline(sim.version):
        cities = selectors.cities_by_id(sim.city_ids)
        similar = [
            (cities[sim.city_ids[j]], score)
            for j, score in selectors.similarity.most_similar(sim.matrix, index, SIMILAR_SHOWN)
            if sim.city_ids[j] in cities and score > 0
        ]
    context = {
        "city": city,
        "photos": selectors.city_photos(city),
        "scene_tags": selectors.city_scene_tags(city),
        "similar": similar,
        "model": sim.version if sim else None,
        "baseline": _is_baseline(sim.version if sim else None),
    }
    return render(request, "cities/detail.html", context)


@require_GET
def similarity_heatmap(request):
    sim = selectors.city_similarity()
    cells, labels = [], []
    if sim is not None and not _is_baseline(sim.version):
        with_photos = [i for i in range(len(sim.city_ids)) if sim.photo_counts[i] > 0]
        with_photos = sorted(with_photos, key=lambda i: -sim.photo_counts[i])[:HEATMAP_MAX_CITIES]
        sub = sim.matrix[with_photos][:, with_photos]
        order = [with_photos[i] for i in selectors.similarity.heatmap_order(sub)]
        cities = selectors.cities_by_id(sim.city_ids[i] for i in order)
        labels = [cities[sim.city_ids[i]] for i in order]
        cells = [
            {"row": r, "col": c, "value": float(sim.matrix[a, b]), "a": labels[r], "b": labels[c]}
            for r, a in enumerate(order)
            for c, b in enumerate(order)
            if a != b
        ]
    cell, margin = HEATMAP_CELL, HEATMAP_MARGIN
    for c in cells:
        c["x"], c["y"] = margin + c["col"] * cell, margin + c["row"] * cell
    context = {
        "rows": [{"city": city, "y": margin + i * cell + cell * 0.7} for i, city in enumerate(labels)],
        "columns": [{"city": city, "x": margin + i * cell + cell * 0.7} for i, city in enumerate(labels)],
        "cells": cells,
        "cell": cell,
        "margin": margin,
        # Room on the right for the last rotated column names.
        "extent": margin + cell * max(1, len(labels)) + 90,
        "model": sim.version if sim else None,
        "baseline": _is_baseline(sim.version if sim else None),
    }
    return render(request, "cities/similarity.html", context)
