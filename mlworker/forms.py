from django import forms

from .backbone_names import BACKBONE_NAMES, DEFAULT_BACKBONE, OFFLINE_BACKBONES


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
        min_value=0, max_value=7, initial=0, help_text="Unfreeze the top N backbone blocks (slow on a CPU)."
    )
    activate = forms.BooleanField(
        required=False, initial=True, help_text="Switch the swipe loop to it when done."
    )
    skip_small_cities = forms.BooleanField(
        required=False, help_text="Leave out cities with fewer than 5 photos instead of refusing to train."
    )
