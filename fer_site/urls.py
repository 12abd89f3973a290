from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from fer_site.errors import API_PREFIX

handler404 = "fer_site.errors.not_found"

admin.site.site_header = "Moodlens administration"  # the admin pages' heading
admin.site.site_title = "Moodlens admin"  # after each page's title in the browser tab
admin.site.index_title = "Moodlens site administration"


def serve_media(request, path: str):
    """Gallery images are generated locally (never committed); serve them from MEDIA_ROOT."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    path("admin/", admin.site.urls),
    path(API_PREFIX, include("fer_site.api_urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("emotions.urls")),
    path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve_media),
]
