"""Procedurally drawn "postcards" for the demo: no network, no photos, yet each city has a recognisable look.

Every city gets a palette and a set of motifs (skyline, mountains, water, old towers, domes, palms, a bridge,
a pagoda, canal houses, dunes). Each card varies the light, layout and detail with its own seed, so that a
person who likes mountains and water gets a meaningful ranking. Pure Pillow; no Django.
"""

import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 640, 800


@dataclass(frozen=True)
class CityStyle:
    sky: tuple[str, str]  # top and horizon colours
    ground: str
    accent: str
    motifs: tuple[str, ...]


DEMO_STYLES: dict[str, CityStyle] = {
    "amsterdam": CityStyle(("#7fa7d9", "#dfe9f5"), "#5b4a3a", "#c0392b", ("canal_houses", "water")),
    "cape-town": CityStyle(("#2f80ed", "#bfe3ff"), "#3d6b3a", "#f2c94c", ("mountains", "water")),
    "denver": CityStyle(("#3a7bd5", "#d4ecff"), "#6b8e4e", "#ffffff", ("mountains", "skyline")),
    "dubai": CityStyle(("#f2994a", "#ffe29f"), "#e0b872", "#9ad0ec", ("dunes", "skyline")),
    "honolulu": CityStyle(("#00b4db", "#c9f3ff"), "#f5deb3", "#2e8b57", ("water", "palms")),
    "kyoto": CityStyle(("#f6d5e0", "#fff3e6"), "#4f6f52", "#b22222", ("pagoda", "mountains")),
    "miami": CityStyle(("#ff6a88", "#ffd3a5"), "#f5deb3", "#1abc9c", ("water", "palms", "skyline")),
    "new-york": CityStyle(("#5d6d7e", "#d5dbdb"), "#2c3e50", "#f1c40f", ("skyline",)),
    "prague": CityStyle(("#8e9eab", "#eef2f3"), "#7b5e57", "#d35400", ("towers", "water")),
    "reykjavik": CityStyle(("#1c2541", "#5bc0be"), "#e8f1f2", "#9bf6ff", ("mountains", "water")),
    "rome": CityStyle(("#f7b267", "#fde4cf"), "#c97b4a", "#8d5524", ("domes", "towers")),
    "san-francisco-bay-area": CityStyle(("#a1c4fd", "#e6f0ff"), "#5d7a5b", "#c0392b", ("bridge", "water")),
}


def _mix(a: str, b: str, t: float) -> tuple[int, int, int]:
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return tuple(round(x + (y - x) * t) for x, y in zip(ca, cb, strict=True))


def _jitter(colour, rng: random.Random, amount: int = 18):
    if isinstance(colour, str):
        colour = _mix(colour, colour, 0)
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in colour)


def _sky(draw: ImageDraw.ImageDraw, style: CityStyle, horizon: int, rng: random.Random) -> None:
    top, bottom = _jitter(style.sky[0], rng), _jitter(style.sky[1], rng)
    for y in range(horizon):
        t = y / max(1, horizon - 1)
        draw.line(
            [(0, y), (WIDTH, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    x, y, r = rng.randint(60, WIDTH - 60), rng.randint(60, horizon // 2), rng.randint(28, 60)
    draw.ellipse([x - r, y - r, x + r, y + r], fill=_jitter("#fff6d5", rng, 10))


def _mountains(draw, style, horizon, rng):
    for layer in range(2):
        base = _mix(style.ground, "#5a6b85", 0.6 - layer * 0.3)
        points = [(0, horizon)]
        x = 0
        while x < WIDTH:
            x += rng.randint(60, 160)
            points.append((x, horizon - rng.randint(120, 330) + layer * 60))
            x += rng.randint(40, 120)
            points.append((x, horizon - rng.randint(20, 90)))
        points.append((WIDTH, horizon))
        draw.polygon(points, fill=_jitter(base, rng, 10))
        for px, py in points[1:-1:2]:
            if horizon - py > 200:  # snow on the high peaks
                draw.polygon([(px, py), (px - 28, py + 40), (px + 28, py + 40)], fill=(245, 248, 252))


def _skyline(draw, style, horizon, rng):
    x = rng.randint(-20, 20)
    while x < WIDTH:
        w, h = rng.randint(36, 90), rng.randint(120, 420)
        body = _jitter(_mix(style.ground, "#34495e", 0.5), rng, 20)
        draw.rectangle([x, horizon - h, x + w, horizon], fill=body)
        for wy in range(horizon - h + 12, horizon - 8, 18):
            for wx in range(x + 6, x + w - 8, 14):
                if rng.random() < 0.55:
                    draw.rectangle([wx, wy, wx + 6, wy + 8], fill=_jitter(style.accent, rng, 25))
        x += w + rng.randint(2, 14)


def _towers(draw, style, horizon, rng):
    for _ in range(rng.randint(3, 6)):
        x, w, h = rng.randint(0, WIDTH - 60), rng.randint(30, 60), rng.randint(160, 330)
        stone = _jitter(_mix(style.ground, "#d6c6a8", 0.5), rng)
        draw.rectangle([x, horizon - h, x + w, horizon], fill=stone)
        draw.polygon(
            [(x - 6, horizon - h), (x + w / 2, horizon - h - rng.randint(60, 130)), (x + w + 6, horizon - h)],
            fill=_jitter(style.accent, rng),
        )
        draw.ellipse([x + w / 2 - 9, horizon - h + 24, x + w / 2 + 9, horizon - h + 42], fill=(250, 240, 210))


def _domes(draw, style, horizon, rng):
    for _ in range(rng.randint(2, 4)):
        x, w, h = rng.randint(0, WIDTH - 160), rng.randint(110, 180), rng.randint(90, 170)
        wall = _jitter(_mix(style.ground, "#f0e0c0", 0.5), rng)
        draw.rectangle([x, horizon - h, x + w, horizon], fill=wall)
        draw.pieslice(
            [x + 10, horizon - h - w / 2, x + w - 10, horizon - h + w / 2 - 20],
            180,
            360,
            fill=_jitter(style.accent, rng),
        )
        for cx in range(x + 14, x + w - 14, 22):
            draw.rectangle(
                [cx, horizon - h + 20, cx + 8, horizon - 10], fill=_mix(style.ground, "#ffffff", 0.7)
            )


def _water(draw, style, horizon, rng):
    top = horizon + rng.randint(0, 40)
    deep = _jitter(_mix(style.sky[0], "#0b3d91", 0.45), rng)
    draw.rectangle([0, top, WIDTH, HEIGHT], fill=deep)
    for y in range(top + 8, HEIGHT, 14):
        for _ in range(5):
            x = rng.randint(0, WIDTH)
            draw.line(
                [(x, y), (x + rng.randint(20, 70), y)], fill=_mix(style.sky[1], "#ffffff", 0.3), width=2
            )


def _palms(draw, style, horizon, rng):
    for _ in range(rng.randint(2, 4)):
        x, h = rng.randint(30, WIDTH - 30), rng.randint(220, 380)
        lean = rng.randint(-50, 50)
        draw.line([(x, HEIGHT - 40), (x + lean, HEIGHT - 40 - h)], fill=(110, 80, 50), width=12)
        cx, cy = x + lean, HEIGHT - 40 - h
        for angle in range(0, 360, 45):
            dx = 90 if angle < 180 else -90
            draw.arc(
                [cx - 90, cy - 40, cx + 90, cy + 60],
                angle,
                angle + 40,
                fill=_jitter(style.accent, rng),
                width=10,
            )
            draw.line(
                [(cx, cy), (cx + dx * rng.random(), cy + rng.randint(-20, 50))],
                fill=_jitter(style.accent, rng),
                width=8,
            )


def _bridge(draw, style, horizon, rng):
    deck = horizon + 20
    colour = _jitter(style.accent, rng, 12)
    draw.rectangle([0, deck, WIDTH, deck + 14], fill=colour)
    for tx in (WIDTH * 0.25 + rng.randint(-30, 30), WIDTH * 0.72 + rng.randint(-30, 30)):
        draw.rectangle([tx - 10, deck - 260, tx + 10, deck + 60], fill=colour)
    left, right = WIDTH * 0.25, WIDTH * 0.72
    for i in range(40):
        t = i / 39
        x = left + (right - left) * t
        y = deck - 250 + 230 * (1 - (2 * t - 1) ** 2)
        draw.line([(x, y), (x, deck)], fill=colour, width=2)
    draw.line(
        [(left, deck - 250), ((left + right) / 2, deck - 20), (right, deck - 250)], fill=colour, width=5
    )


def _pagoda(draw, style, horizon, rng):
    x, base_w = rng.randint(140, WIDTH - 140), rng.randint(150, 210)
    y = horizon
    for level in range(rng.randint(3, 5)):
        w = base_w - level * 28
        draw.rectangle([x - w / 2 + 18, y - 60, x + w / 2 - 18, y], fill=_jitter("#5b3a29", rng, 10))
        draw.polygon(
            [
                (x - w / 2 - 20, y - 55),
                (x + w / 2 + 20, y - 55),
                (x + w / 2 - 10, y - 80),
                (x - w / 2 + 10, y - 80),
            ],
            fill=_jitter(style.accent, rng, 12),
        )
        y -= 80
    draw.line([(x, y), (x, y - 60)], fill=(80, 60, 40), width=6)


def _canal_houses(draw, style, horizon, rng):
    x = -10
    while x < WIDTH:
        w, h = rng.randint(50, 80), rng.randint(180, 280)
        colour = _jitter(rng.choice(["#8e3b2f", "#3b5b7a", "#6b4f2d", "#2f4f3f", "#a0522d"]), rng, 15)
        draw.rectangle([x, horizon - h, x + w, horizon], fill=colour)
        draw.polygon([(x, horizon - h), (x + w / 2, horizon - h - 40), (x + w, horizon - h)], fill=colour)
        for wy in range(horizon - h + 20, horizon - 20, 45):
            draw.rectangle([x + 10, wy, x + w - 10, wy + 24], fill=(235, 235, 225))
        x += w + 2


def _dunes(draw, style, horizon, rng):
    for layer in range(3):
        y0 = horizon + layer * 90
        points = [(0, HEIGHT)] + [
            (x, y0 - 40 * abs(((x / WIDTH * 3 + rng.random()) % 2) - 1)) for x in range(0, WIDTH + 40, 40)
        ]
        points.append((WIDTH, HEIGHT))
        draw.polygon(points, fill=_jitter(_mix(style.ground, "#c2956b", layer * 0.25), rng, 8))


MOTIFS = {
    "mountains": _mountains,
    "skyline": _skyline,
    "towers": _towers,
    "domes": _domes,
    "water": _water,
    "palms": _palms,
    "bridge": _bridge,
    "pagoda": _pagoda,
    "canal_houses": _canal_houses,
    "dunes": _dunes,
}
# Drawn back to front, whatever order a style lists them in.
DEPTH = [
    "mountains",
    "dunes",
    "skyline",
    "towers",
    "domes",
    "pagoda",
    "canal_houses",
    "water",
    "bridge",
    "palms",
]


def draw_postcard(style: CityStyle, seed: int) -> Image.Image:
    rng = random.Random(seed)
    horizon = rng.randint(int(HEIGHT * 0.55), int(HEIGHT * 0.7))
    image = Image.new("RGB", (WIDTH, HEIGHT), style.ground)
    draw = ImageDraw.Draw(image)
    _sky(draw, style, horizon, rng)
    draw.rectangle([0, horizon, WIDTH, HEIGHT], fill=_jitter(style.ground, rng))
    for motif in sorted(style.motifs, key=DEPTH.index):
        MOTIFS[motif](draw, style, horizon, rng)
    # A little grain and softness, so that cards are not flat vector art.
    noise = Image.effect_noise((WIDTH, HEIGHT), 24).convert("RGB")
    return Image.blend(image, noise, 0.06).filter(ImageFilter.GaussianBlur(0.6))
