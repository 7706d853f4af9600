"""The audit log's one writer: `record(event=..., actor=..., target=..., request=None, **details)`.

Call it inside the service's transaction: if the change is rolled back, so is its event. Signals
record logins, logouts, failed logins and lockouts (accounts/signals.py); services record the rest.
"""

import ipaddress
import logging

from django.contrib.auth import get_user_model
from simple_history.models import HistoricalRecords

from ctc_portal.client_ip import client_ip

from .models import AuditEvent

logger = logging.getLogger(__name__)
Event = AuditEvent.Type
TARGET_MAX_LENGTH = AuditEvent._meta.get_field("target").max_length


def describe(target) -> str:
    """Return how the log names a target: a user by username, anything else as its text."""
    if target is None:
        return ""
    if isinstance(target, get_user_model()):
        return target.get_username()
    return str(target)


def _current_request():
    # simple_history's HistoryRequestMiddleware keeps the request being served: a service called
    # from a view records the client address without every caller passing the request on.
    return getattr(HistoricalRecords.context, "request", None)


def request_address(request) -> str | None:
    """Return the client address of a request (through TRUSTED_PROXY_COUNT proxies), if valid."""
    if request is None:
        return None
    address = client_ip(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def record(*, event: str, actor=None, target=None, request=None, **details) -> AuditEvent:
    """Add one event to the audit log and return it.

    `actor` is the user who acted (None: the system or an operator at the command line, or nobody
    signed in); `target` a user, a model instance or a text; `details` any JSON-serialisable facts.
    The client address comes from `request`, or from the request being served if there is one.
    """
    if event not in Event.values:
        raise ValueError(f"Unknown audit event {event!r}")
    if request is None:
        request = _current_request()
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    entry = AuditEvent.objects.create(
        event=event,
        actor=actor if authenticated else None,
        actor_name=actor.get_username() if authenticated else "",
        target=describe(target)[:TARGET_MAX_LENGTH],
        client_address=request_address(request),
        details=details,
    )
    logger.info("audit: %s", entry)
    return entry
