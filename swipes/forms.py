"""The swipe form: which photo, and like or dislike. The card's buttons post liked=1 / liked=0."""

from django import forms

# Both spellings are accepted: the buttons send 1/0, a hand-written client may send like/dislike.
LIKED_CHOICES = [("1", "Like"), ("0", "Nope"), ("like", "Like"), ("dislike", "Nope")]
MAX_PHOTO_ID = 2**63 - 1  # a bigint primary key; larger numbers are no photo at all


def _is_like(value: str) -> bool:
    return value in ("1", "like")


class SwipeForm(forms.Form):
    photo = forms.IntegerField(
        min_value=1,
        max_value=MAX_PHOTO_ID,
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

    def first_error(self) -> str:
        """One plain sentence for the person: the first thing wrong with the swipe."""
        return next(iter(self.errors.values()))[0]
