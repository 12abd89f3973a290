"""Forms of the history pages."""

from django import forms

from emotions.models import CaptureSession


class SessionNoteForm(forms.ModelForm):
    """A session's title and note (both optional)."""

    class Meta:
        model = CaptureSession
        fields = ("title", "note")
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"title": "A short name for this session (optional).",
                      "note": "Anything you want to remember about it (optional)."}
