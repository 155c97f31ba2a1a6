from django import forms

from .backbone_names import BACKBONE_NAMES, DEFAULT_BACKBONE, OFFLINE_BACKBONES
from .providers import PROVIDER_NAMES
from .scraping import DEFAULT_QUERIES, MAX_PER_CITY, ScrapeError, build_request, parse_queries
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


PROVIDER_LABELS = {
    "wikimedia": "Wikimedia Commons (free licences only; no key needed)",
    "google": "Google Custom Search (needs GOOGLE_CSE_KEY and GOOGLE_CSE_ID)",
    "urls": "A list of image URLs (below)",
}


class ScrapeForm(forms.Form):
    """The admin's "Scrape photos…" step. `scrape_request` holds the checked request once it is valid."""

    provider = forms.ChoiceField(choices=[(name, PROVIDER_LABELS[name]) for name in PROVIDER_NAMES])
    per_city = forms.IntegerField(
        label="Photos per city",
        min_value=1,
        max_value=MAX_PER_CITY,
        initial=20,
        help_text="A target: a rerun tops each city up to it from the same source, without duplicates.",
    )
    queries = forms.CharField(
        label="Query templates",
        widget=forms.Textarea(attrs={"rows": 3}),
        initial="\n".join(DEFAULT_QUERIES),
        required=False,
        help_text="One per line (or comma-separated); {city} becomes the city's name.",
    )
    urls = forms.CharField(
        label="URL list",
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "https://example.org/photo.jpg,berlin"}),
        required=False,
        help_text='Only for "a list of image URLs": one per line, "url" or "url,city-slug".',
    )

    def __init__(self, *args, city_slugs: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.city_slugs = city_slugs
        self.scrape_request = None

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.scrape_request = build_request(
                city_slugs=self.city_slugs,
                provider=cleaned["provider"],
                per_city=cleaned["per_city"],
                queries=parse_queries(cleaned.get("queries", "")),
                urls=cleaned.get("urls", ""),
            )
        except ScrapeError as exc:
            raise forms.ValidationError(str(exc)) from None
        return cleaned
