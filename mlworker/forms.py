from django import forms

from .backbone_names import BACKBONE_NAMES, DEFAULT_BACKBONE, OFFLINE_BACKBONES
from .training import FINE_TUNE_BLOCKS, FINE_TUNE_MIN_PHOTOS


class TrainModelForm(forms.Form):
    backbones = forms.MultipleChoiceField(
        choices=[
            (n, n + ("" if n in OFFLINE_BACKBONES else " (needs downloadable ImageNet weights)"))
            for n in BACKBONE_NAMES
        ],
        initial=[DEFAULT_BACKBONE],
        widget=forms.CheckboxSelectMultiple,
        help_text="One version is trained per backbone; the best by validation macro-F1 is kept (and activated).",
    )
    epochs = forms.IntegerField(
        min_value=1, max_value=1000, initial=100, help_text="At most; early stopping ends sooner."
    )
    fine_tune_blocks = forms.IntegerField(
        min_value=0,
        max_value=17,  # EfficientNet-Lite0 has 16 blocks and a head convolution
        required=False,
        help_text=(
            f"Unfreeze the top N backbone blocks and train them on the photos. Leave blank for the default: "
            f"{FINE_TUNE_BLOCKS} blocks once {FINE_TUNE_MIN_PHOTOS} or more photos train, else none. "
            "0 trains the head only (minutes instead of about half an hour for 4,000 photos on 2 cores)."
        ),
    )
    drop_suspects = forms.BooleanField(
        label="Leave out suspect photos",
        required=False,
        initial=False,
        help_text="Train without the photos that look filed under the wrong city (they stay in the gallery, "
        "marked suspect). Off by default: on real photos most suspects were good photos of look-alike cities.",
    )
    activate = forms.BooleanField(
        required=False, initial=True, help_text="Switch the swipe loop to it when done."
    )
    skip_small_cities = forms.BooleanField(
        required=False, help_text="Leave out cities with fewer than 5 photos instead of refusing to train."
    )
