"""Where the ranked cities are: continents from country codes, and an equirectangular world map (pure).

The map is server-rendered SVG with no tile server, so it works offline. No light, well-kept PyPI package
ships Natural Earth coastlines as data (the ones that do download them at run time or pull in a GIS stack),
so the map draws a graticule: lines every 30 degrees, with the equator and the prime meridian.
"""

from dataclasses import dataclass

# ISO 3166-1 alpha-2 codes by continent (the seven-continent model; Russia and Turkey count as Europe,
# the Caribbean and Central America as North America).
_CONTINENT_CODES = {
    "Africa": "DZ AO BJ BW BF BI CM CV CF TD KM CG CD CI DJ EG GQ ER SZ ET GA GM GH GN GW KE LS LR LY MG MW "
    "ML MR MU MA MZ NA NE NG RW ST SN SC SL SO ZA SS SD TZ TG TN UG ZM ZW RE YT EH",
    "Asia": "AF AM AZ BH BD BT BN KH CN GE HK IN ID IR IQ IL JP JO KZ KW KG LA LB MO MY MV MN MM NP KP OM PK "
    "PS PH QA SA SG KR LK SY TW TJ TH TL TM AE UZ VN YE",
    "Europe": "AL AD AT BY BE BA BG HR CY CZ DK EE FO FI FR DE GI GR HU IS IE IT XK LV LI LT LU MT MD MC ME NL "
    "MK NO PL PT RO RU SM RS SK SI ES SE CH TR UA GB VA IM JE GG AX",
    "North America": "AG BS BB BZ CA CR CU DM DO SV GD GT HT HN JM MX NI PA KN LC VC TT US PR GL BM KY AW CW",
    "South America": "AR BO BR CL CO EC GY PY PE SR UY VE GF FK",
    "Oceania": "AU FJ KI MH FM NR NZ PW PG WS SB TO TV VU NC PF GU",
}
CONTINENT_OF = {code: name for name, codes in _CONTINENT_CODES.items() for code in codes.split()}
CONTINENTS = sorted(_CONTINENT_CODES)


def continent_of(country_code: str) -> str:
    """The continent of an ISO alpha-2 code, or "" when the code is unknown or empty."""
    return CONTINENT_OF.get((country_code or "").upper(), "")


MAP_WIDTH, MAP_HEIGHT = 720, 360  # 2:1, as the projection is
GRATICULE_STEP = 30


def project(latitude: float, longitude: float, width: float = MAP_WIDTH, height: float = MAP_HEIGHT):
    """Equirectangular projection: longitude -180..180 to x 0..width, latitude 90..-90 to y 0..height."""
    longitude = max(-180.0, min(180.0, longitude))
    latitude = max(-90.0, min(90.0, latitude))
    return (longitude + 180.0) / 360.0 * width, (90.0 - latitude) / 180.0 * height


@dataclass(frozen=True)
class MapPoint:
    label: str
    rank: int
    x: float
    y: float

    @property
    def label_anchor(self) -> str:
        return "end" if self.x > MAP_WIDTH * 0.8 else "start"

    @property
    def label_x(self) -> float:
        return self.x - 7 if self.label_anchor == "end" else self.x + 7


@dataclass(frozen=True)
class WorldMap:
    points: list[MapPoint]
    meridians: list[float]  # x of each line of longitude
    parallels: list[float]  # y of each line of latitude
    equator_y: float
    meridian_x: float
    width: int = MAP_WIDTH
    height: int = MAP_HEIGHT


def world_map(places: list[tuple[str, int, float | None, float | None]]) -> WorldMap:
    """(name, rank, latitude, longitude) of each city to the points on the map; cities with no coordinates
    are left off. The graticule runs every GRATICULE_STEP degrees."""
    points = [
        MapPoint(name, rank, *project(lat, lon))
        for name, rank, lat, lon in places
        if lat is not None and lon is not None
    ]
    meridians = [project(0, lon)[0] for lon in range(-180 + GRATICULE_STEP, 180, GRATICULE_STEP)]
    parallels = [project(lat, 0)[1] for lat in range(-90 + GRATICULE_STEP, 90, GRATICULE_STEP)]
    return WorldMap(points, meridians, parallels, equator_y=project(0, 0)[1], meridian_x=project(0, 0)[0])
