from django import forms

from .models import City


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
