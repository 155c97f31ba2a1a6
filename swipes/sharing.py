"""Read-only links to a ranking, and the Open Graph picture drawn for them.

A link carries a signed token (django.core.signing: the profile id and when it was made), so it needs no
login and no table of links, cannot be forged or pointed at another profile, and expires.
"""

import io

from django.core import signing
from PIL import Image, ImageDraw, ImageFont

SALT = "swipes.share"
MAX_AGE_SECONDS = 90 * 24 * 3600

OG_SIZE = (1200, 630)  # what the big social previews use
_INK, _MUTED, _PAPER, _BAR = (31, 41, 55), (75, 85, 99), (250, 247, 242), (34, 197, 94)


class BadShareLink(Exception):
    """The token was altered, made with another key, or has expired."""


def share_token(profile_id: int) -> str:
    return signing.dumps({"profile": profile_id}, salt=SALT, compress=True)


def profile_id_from_token(token: str, max_age: int = MAX_AGE_SECONDS) -> int:
    try:
        return int(signing.loads(token, salt=SALT, max_age=max_age)["profile"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise BadShareLink(str(error)) from error


def og_image(title: str, rows: list[tuple[str, int]], subtitle: str = "") -> bytes:
    """A PNG card: the title, a line of taste, and up to five cities with their match bars (percent of the
    best match). Pillow's bundled scalable font, so it draws the same on any machine."""
    image = Image.new("RGB", OG_SIZE, _PAPER)
    draw = ImageDraw.Draw(image)
    draw.text((60, 44), title, fill=_INK, font=ImageFont.load_default(56))
    if subtitle:
        draw.text((60, 118), subtitle[:90], fill=_MUTED, font=ImageFont.load_default(30))
    label_font = ImageFont.load_default(36)
    bar_left, bar_right = 60, OG_SIZE[0] - 60
    for row, (name, percent) in enumerate(rows[:5]):
        top = 180 + row * 88
        draw.text((bar_left, top), f"{row + 1}. {name}", fill=_INK, font=label_font)
        draw.text((bar_right, top), f"{percent}%", fill=_INK, font=label_font, anchor="ra")
        width = max(0, min(100, percent)) / 100 * (bar_right - bar_left)
        draw.rounded_rectangle((bar_left, top + 46, bar_left + max(width, 6), top + 66), 8, fill=_BAR)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
