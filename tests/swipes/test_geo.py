"""Continents and the world map's projection (pure)."""

import csv

import pytest

from cities.services import CATALOGUE_CSV
from swipes import geo


def test_every_catalogue_country_has_a_continent():
    with open(CATALOGUE_CSV, newline="", encoding="utf-8") as handle:
        codes = {row["country_code"] for row in csv.DictReader(handle)}
    assert {code for code in codes if not geo.continent_of(code)} == set()
    assert geo.continent_of("jp") == "Asia" and geo.continent_of("") == "" and geo.continent_of("ZZ") == ""


@pytest.mark.parametrize(
    ("lat", "lon", "x", "y"),
    [(0, 0, 360, 180), (90, -180, 0, 0), (-90, 180, 720, 360), (35.0, 135.0, 630, 110)],
)
def test_equirectangular_projection(lat, lon, x, y):
    assert geo.project(lat, lon) == pytest.approx((x, y))


def test_the_map_places_cities_and_leaves_out_those_without_coordinates():
    world = geo.world_map([("Kyoto", 1, 35.0, 135.75), ("Nowhere", 2, None, None), ("Lima", 3, -12.0, -77.0)])
    assert [p.label for p in world.points] == ["Kyoto", "Lima"]
    assert world.points[0].label_anchor == "end"  # near the right edge the label goes left of the dot
    assert world.points[1].label_anchor == "start"
    assert len(world.meridians) == 11 and len(world.parallels) == 5
    assert world.equator_y == 180 and world.meridian_x == 360
