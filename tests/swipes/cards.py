"""Reading the swipe card and the profile behind it, for the swipe tests."""

import re

import numpy as np
from django.contrib.auth.models import AnonymousUser

from mlworker.models import ModelVersion
from swipes.engine import engine_for
from swipes.models import UserProfile
from swipes.profiles import profile_for_writing
from swipes.selectors import replayed_state
from swipes.visitors import VISITOR_COOKIE

HX = {"HTTP_HX_REQUEST": "true"}


def shown_photo_id(response) -> int:
    return int(re.search(r'name="photo" value="(\d+)"', response.content.decode()).group(1))


def swipe_count(response) -> int:
    return int(re.search(r'id="swipe-count">(\d+)<', response.content.decode()).group(1))


def undo_target(response) -> int | None:
    """The swipe the card's undo button takes back (None when the button is disabled)."""
    match = re.search(r'name="swipe" value="(\d+)"', response.content.decode())
    return int(match.group(1)) if match else None


def card_form(response, liked: str) -> dict:
    """Everything the card's swipe form posts when its like (1) or nope (0) button is pressed."""
    body = response.content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="(photo|round|after)" value="(\d+)"', body))
    return {**fields, "liked": liked}


def stored_state(profile: UserProfile) -> np.ndarray:
    """The scorer state the swipe loop saved on the profile (incremental updates)."""
    profile.refresh_from_db()
    return engine_for(profile.scores_model).load_state(profile.scores)


def replayed_from_db(profile: UserProfile) -> np.ndarray:
    """The state rebuilt from scratch: the live swipe log, read back from the database, replayed."""
    return replayed_state(profile, ModelVersion.objects.get(is_active=True))


def visitor_profile(client) -> UserProfile:
    """The profile of the anonymous visitor behind a test client, created as its first swipe would."""
    if VISITOR_COOKIE not in client.cookies:
        client.get("/")
    return profile_for_writing(AnonymousUser(), client.cookies[VISITOR_COOKIE].value)
