"""The admin's ingestion forms: the upload (files and zips for one city) and the "Scrape photos…" step."""

from django import forms

from ..models import City
from .providers import PROVIDER_NAMES
from .scrape import DEFAULT_QUERIES, MAX_PER_CITY, ScrapeError, build_request, parse_queries


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class PhotoUploadForm(forms.Form):
    city = forms.ModelChoiceField(
        queryset=City.objects.filter(active=True), help_text="The city these photos show."
    )
    files = MultipleFileField(
        required=False,
        help_text="JPEG, PNG or WebP images, and/or .zip archives of them (up to 20 MB per image).",
    )
    author = forms.CharField(required=False, max_length=300)
    licence = forms.CharField(required=False, max_length=120, help_text="e.g. CC BY-SA 4.0")
    source_url = forms.URLField(required=False, max_length=1000, assume_scheme="https")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("files"):
            raise forms.ValidationError("Choose at least one image or zip file.")
        return cleaned


PROVIDER_LABELS = {
    "wikimedia": "Wikimedia Commons (free licences only; no key; needs SCRAPE_USER_AGENT with your contact)",
    "openverse": "Openverse: Flickr, Commons and more (free licences only; no key needed)",
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
