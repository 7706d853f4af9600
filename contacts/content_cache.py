"""Rendered directory content, shared between readers the gate treats alike.

A directory list's content (rows, counts, filters, pagination) is a function of: the page (view and
query string), the reader's language and time zone, what the gate lets the reader see and change
(`gate.scope_key`: the secretariat, or a liaison of exactly these organizations), and the data
(`DirectoryGeneration`, whose token database triggers change in the same transaction as every write
to the organization and focal point tables: migration 0004). The cache key holds all of them, so:

- two readers share a fragment only when the gate gives them the same scope, and roles are read
  afresh on every request (a revoked liaison's next page has a different key);
- a write makes every earlier fragment unreachable at the moment it commits. The token is read
  before the data, so a fragment stored under a token never holds data older than that token.

Fragments never hold a CSRF token (they would leak one reader's token to another): content that
contains one is not stored. DIRECTORY_CACHE_SECONDS = 0 turns the cache off.
"""

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from ctc_portal import gate

from .models import DirectoryGeneration

logger = logging.getLogger(__name__)

GENERATION_ID = 1
CSRF_FIELD = "csrfmiddlewaretoken"


def generation_token() -> str | None:
    """Return the directory's current token, or None before its first write (nothing is cached then)."""
    # Asked on every list request: plain SQL, which costs a fraction of composing it with the ORM.
    with connection.cursor() as cursor:
        table = DirectoryGeneration._meta.db_table
        cursor.execute(f"SELECT token FROM {table} WHERE id = %s", [GENERATION_ID])  # noqa: S608 - a model's table
        row = cursor.fetchone()
    return row[0] if row else None


@dataclass
class Fragment:
    """One page's cacheable content for one reader: `content` is what was cached (HTML for pages,
    the answer's data for the API), or None when it must be built."""

    key: str | None
    content: SafeString | dict | None = None

    def store(self, content) -> None:
        if self.key is None:
            return
        if isinstance(content, str):
            if CSRF_FIELD in content:
                logger.warning("Directory content with a CSRF token is not cached (%s)", self.key)
                return
            content = str(content)
        cache.set(self.key, content, settings.DIRECTORY_CACHE_SECONDS)


def fragment_for(request, name: str, *, vary: tuple[str, ...] = ()) -> Fragment:
    """Return the fragment of page `name` for this request, with its content when it is cached.

    `vary`: anything else the content depends on (the API's absolute links: scheme and host).
    """
    if settings.DIRECTORY_CACHE_SECONDS <= 0:
        return Fragment(key=None)
    scope = gate.scope_key(request.user)
    token = generation_token()
    if not scope or token is None:
        return Fragment(key=None)
    query = sorted((key, value) for key, values in request.GET.lists() for value in values)
    parts = [name, request.path, repr(query), translation.get_language() or "", timezone.get_current_timezone_name(),
             scope, token, *vary]
    key = "directory-fragment:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    content = cache.get(key)
    if isinstance(content, str):
        content = mark_safe(content)  # noqa: S308 - our own rendering, escaped when it was made
    return Fragment(key=key, content=content)
