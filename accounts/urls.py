from django.urls import path

from accounts import views

urlpatterns = [
    path("signup/", views.SignUpView.as_view(), name="signup"),
    path("profile/", views.account_view, name="account"),
    path("email/", views.email_view, name="account_email"),
    path("token/regenerate/", views.regenerate_token_view, name="regenerate_token"),
    path("data/delete/", views.delete_data_view, name="account_delete_data"),
    path("delete/", views.delete_account_view, name="account_delete"),
]
