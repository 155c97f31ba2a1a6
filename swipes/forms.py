"""The swipe and undo forms. The card's buttons post liked=1 / liked=0, with where the profile stood when
the card was dealt (its round, and its latest swipe then), so a card from another tab's past is told apart;
the undo button posts the id of the swipe it takes back."""

from django import forms

from . import geo
from .selectors import Narrowing

# Both spellings are accepted: the buttons send 1/0, a hand-written client may send like/dislike.
LIKED_CHOICES = [("1", "Like"), ("0", "Nope"), ("like", "Like"), ("dislike", "Nope")]
MAX_ID = 2**63 - 1  # a bigint primary key; larger numbers name nothing at all
STALE_CARD = "That card's details were garbled. Please try again."


def _is_like(value: str) -> bool:
    return value in ("1", "like")


class _PlainErrorsForm(forms.Form):
    def first_error(self) -> str:
        """One plain sentence for the person: the first thing wrong with the request."""
        return next(iter(self.errors.values()))[0]


class SwipeForm(_PlainErrorsForm):
    photo = forms.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        error_messages={
            "required": "That swipe did not say which photo it was for. Please try again.",
            "invalid": "That swipe named no valid photo. Please try again.",
            "min_value": "That swipe named no valid photo. Please try again.",
            "max_value": "That swipe named no valid photo. Please try again.",
        },
    )
    liked = forms.TypedChoiceField(
        choices=LIKED_CHOICES,
        coerce=_is_like,
        error_messages={
            "required": "A swipe needs a like or a nope. Please try again.",
            "invalid_choice": "A swipe is either a like or a nope. Please try again.",
        },
    )
    # Optional (a hand-written client may leave them out): where the profile stood when the card was dealt.
    round = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        error_messages=dict.fromkeys(["invalid", "min_value", "max_value"], STALE_CARD),
    )
    after = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_ID,
        error_messages=dict.fromkeys(["invalid", "min_value", "max_value"], STALE_CARD),
    )


class UndoForm(_PlainErrorsForm):
    swipe = forms.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        error_messages=dict.fromkeys(
            ["required", "invalid", "min_value", "max_value"],
            "That undo did not say which swipe to take back. Please reload the page and try again.",
        ),
    )


class NarrowForm(forms.Form):
    """GET parameters that narrow the ranking (a plain form without JavaScript; htmx swaps the ranking).
    The page draws the selects itself, listing only the continents and countries in the ranking."""

    continent = forms.ChoiceField(required=False, choices=[("", "")] + [(c, c) for c in geo.CONTINENTS])
    country = forms.RegexField(required=False, regex=r"^[A-Za-z]{2}$")
    hide_visited = forms.BooleanField(required=False)

    def narrowing(self) -> Narrowing:
        """The valid part of what was asked; anything unknown is ignored (a stale bookmark still works)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return Narrowing(
            continent=data.get("continent", ""),
            country=(data.get("country") or "").upper(),
            hide_visited=bool(data.get("hide_visited")),
        )
