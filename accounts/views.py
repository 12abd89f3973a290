"""Sign-up and the account page; log in/out and password change are Django's own views.

Views stay thin: writes are in `accounts.services` (and `emotions.data_services` for the user's data).
"""

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST
from django.views.generic import CreateView
from rest_framework.authtoken.models import Token

from accounts import services
from accounts.forms import DeleteAccountForm, EmailForm, SignUpForm
from emotions.data_services import delete_user_data


class SignUpView(CreateView):
    form_class = SignUpForm
    template_name = "registration/signup.html"
    success_url = reverse_lazy("live")

    def form_valid(self, form):
        response = super().form_valid(form)
        login(self.request, self.object, backend="django.contrib.auth.backends.ModelBackend")
        return response


def _account_page(request: HttpRequest, *, delete_form: DeleteAccountForm | None = None,
                  status: int = 200) -> HttpResponse:
    return render(request, "registration/account.html", {
        "email_form": EmailForm(instance=request.user),
        "delete_form": delete_form or DeleteAccountForm(),
    }, status=status)


@login_required
def account_view(request: HttpRequest) -> HttpResponse:
    return _account_page(request)


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


@login_required
@require_POST
def regenerate_token_view(request: HttpRequest) -> HttpResponse:
    """Create the first token, or replace the current one once the form's box confirms it."""
    if Token.objects.filter(user=request.user).exists() and not request.POST.get("confirm"):
        messages.error(request, "Tick the box to confirm: your current token would stop working.")
        return redirect("account")
    _, replaced = services.regenerate_api_token(user=request.user)
    if replaced:
        messages.success(request, "You have a new API token; the previous one no longer works.")
    else:
        messages.success(request, "Your API token is ready.")
    return redirect("account")


@login_required
@require_POST
def delete_data_view(request: HttpRequest) -> HttpResponse:
    """Delete every session (and detection, and video) of the user, once the form's box confirms it."""
    if not request.POST.get("confirm"):
        messages.error(request, "Tick the box to confirm: all your sessions would be deleted.")
        return redirect("account")
    count = delete_user_data(user=request.user)
    messages.success(request, f"Deleted all your data: {count} session{'' if count == 1 else 's'} "
                              "with their detections and videos.")
    return redirect("account")


@login_required
@require_POST
def delete_account_view(request: HttpRequest) -> HttpResponse:
    """Delete the account and everything of it, given the right password; then the user is signed out."""
    form = DeleteAccountForm(request.POST)
    if not form.is_valid() or not services.delete_account(user=request.user, request=request,
                                                           password=form.cleaned_data["password"]):
        messages.error(request, "That is not your password: your account was not deleted.")
        return _account_page(request, delete_form=DeleteAccountForm(), status=400)
    logout(request)
    messages.success(request, "Your account and all its data are deleted.")
    return redirect("home")
