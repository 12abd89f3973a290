"""Forms of the account pages."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm


class SignUpForm(UserCreationForm):
    """A username, a password and, optionally, an e-mail address (where password resets go)."""

    email = forms.EmailField(required=False, help_text="Optional: where to send a link if you forget your password.")

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class EmailForm(forms.ModelForm):
    """The account's e-mail address (optional: empty removes it), where password resets go."""

    class Meta:
        model = get_user_model()
        fields = ("email",)
        help_texts = {"email": "Where to send a link if you forget your password; leave empty for none."}


class DeleteAccountForm(forms.Form):
    password = forms.CharField(label="Your password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
