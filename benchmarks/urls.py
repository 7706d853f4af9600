"""The portal's URLs plus one trivial view: the framework's ceiling, served by the same gunicorn."""

from django.http import HttpResponse
from django.urls import include, path


def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial/", trivial),
    path("", include("ctc_portal.urls")),
]
