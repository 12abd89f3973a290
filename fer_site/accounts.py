"""Sign-up and the account page; log in/out and password change are Django's own views."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST
from django.views.generic import CreateView
from rest_framework.authtoken.models import Token


class SignUpForm(UserCreationForm):
    """A username, a password and, optionally, an e-mail address (where password resets go)."""

    email = forms.EmailField(required=False, help_text="Optional: where to send a link if you forget your password.")

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class SignUpView(CreateView):
    form_class = SignUpForm
    template_name = "registration/signup.html"
    success_url = reverse_lazy("live")

    def form_valid(self, form):
        response = super().form_valid(form)
        login(self.request, self.object, backend="django.contrib.auth.backends.ModelBackend")
        return response


class EmailForm(forms.ModelForm):
    """The account's e-mail address (optional: empty removes it), where password resets go."""

    class Meta:
        model = get_user_model()
        fields = ("email",)
        help_texts = {"email": "Where to send a link if you forget your password; leave empty for none."}


@login_required
def account_view(request: HttpRequest) -> HttpResponse:
    return render(request, "registration/account.html", {"email_form": EmailForm(instance=request.user)})


@login_required
@require_POST
def email_view(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST, instance=request.user)
    if form.is_valid():
        form.save()
        messages.success(request, "Your e-mail address is saved." if form.instance.email
                         else "Your account has no e-mail address now.")
    else:
        messages.error(request, "; ".join(form.errors["email"]))
    return redirect("account")


# --- API token -----------------------------------------------------------------------------------


def regenerate_api_token(*, user) -> tuple[Token, bool]:
    """Replace the user's REST API token: the old one stops working at once. Returns the new token and
    whether there was an old one."""
    with transaction.atomic():
        deleted, _ = Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user), bool(deleted)


@login_required
@require_POST
def regenerate_token_view(request: HttpRequest) -> HttpResponse:
    """Create the first token, or replace the current one once the form's box confirms it."""
    if Token.objects.filter(user=request.user).exists() and not request.POST.get("confirm"):
        messages.error(request, "Tick the box to confirm: your current token would stop working.")
        return redirect("account")
    _, replaced = regenerate_api_token(user=request.user)
    if replaced:
        messages.success(request, "You have a new API token; the previous one no longer works.")
    else:
        messages.success(request, "Your API token is ready.")
    return redirect("account")
