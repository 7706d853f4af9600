from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import database_check, health_report


@never_cache
@require_GET
def healthz(request):
    """For operators and monitoring: database, broker, worker and beat. 503 when any is unhealthy.

    Public (a load balancer has no account) and free of contact data.
    """
    healthy, report = health_report()
    return JsonResponse({"healthy": healthy, "checks": report}, status=200 if healthy else 503)


@never_cache
@require_GET
def healthz_live(request):
    """For the web container's own healthcheck: this process answers and reaches the database."""
    check = database_check()
    return JsonResponse({"healthy": check.ok, "database": check.as_dict()}, status=200 if check.ok else 503)
