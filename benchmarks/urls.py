"""The portal's URLs plus one trivial view: the framework's ceiling, served by the same gunicorn."""

from django.http import HttpResponse
from django.urls import include, path


def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


def trivial_logged_in(request):
    """The same, after what every logged-in page pays first: its session and its user loaded."""
    return HttpResponse("ok" if request.user.is_authenticated else "anonymous", content_type="text/plain")


urlpatterns = [
    path("bench/trivial/", trivial),
    path("bench/trivial-logged-in/", trivial_logged_in),
    path("", include("ctc_portal.urls")),
]
