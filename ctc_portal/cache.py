"""A Redis cache that degrades to "nothing cached" while Redis is unreachable.

Only rate limits use the cache. When Redis is down the portal must keep serving and editing
(the database is the truth); rate limits then let requests through (RATELIMIT_FAIL_OPEN).
"""

import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def _soft(method_name, fallback):
    def method(self, *args, **kwargs):
        try:
            return getattr(super(ResilientRedisCache, self), method_name)(*args, **kwargs)
        except UNREACHABLE:
            logger.warning("Cache unreachable during %s; answering as a miss.", method_name)
            return fallback(*args, **kwargs) if callable(fallback) else fallback

    method.__name__ = method_name
    return method


class ResilientRedisCache(RedisCache):
    get = _soft("get", lambda key, default=None, version=None: default)
    get_many = _soft("get_many", {})
    has_key = _soft("has_key", False)
    add = _soft("add", False)
    set = _soft("set", None)
    set_many = _soft("set_many", lambda data, *args, **kwargs: list(data))
    touch = _soft("touch", False)
    delete = _soft("delete", False)
    delete_many = _soft("delete_many", None)
    incr = _soft("incr", None)
    decr = _soft("decr", None)
