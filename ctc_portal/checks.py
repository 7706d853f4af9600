from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def site_url_is_public_https(app_configs, **kwargs):
    """Links in emails (unsubscribe, confirmation, invitations) must reach the real site over HTTPS."""
    url = urlsplit(settings.SITE_URL)
    if url.scheme != "https" or url.hostname in {"127.0.0.1", "localhost", None}:
        return [Warning(
            f"SITE_URL is {settings.SITE_URL!r}: emails would carry links that do not reach the site over HTTPS.",
            hint="Set SITE_URL to the public https:// address of the portal.",
            id="ctc.W001",
        )]
    return []
