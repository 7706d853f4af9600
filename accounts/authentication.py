"""API token authentication that notes in the audit log when a token is used (at most hourly)."""

import hashlib

from django.core.cache import cache
from rest_framework.authentication import TokenAuthentication

from .audit import Event, record

USE_RECORD_INTERVAL_SECONDS = 60 * 60


class AuditedTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication, recording "api_token_used" once per token per hour.

    The cache remembers which tokens were recorded in the last hour (`cache.add` is atomic, so two
    processes do not both record); its key is a hash, never the token itself.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user, token = result
            digest = hashlib.sha256(token.key.encode()).hexdigest()[:32]
            if cache.add(f"accounts:token-used:{digest}", 1, timeout=USE_RECORD_INTERVAL_SECONDS):
                record(event=Event.API_TOKEN_USED, actor=user, target=user, request=request,
                       path=request.path[:200])
        return result
