"""The public Atom feed of published communiqués."""

from django.contrib.syndication.views import Feed
from django.urls import reverse_lazy
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from .models import Communique

FEED_SIZE = 20


class CommuniqueFeed(Feed):
    feed_type = Atom1Feed
    title = _("Counter-Terrorism Committee communiqués")
    subtitle = _("Communiqués published by the secretariat of the UN Security Council Counter-Terrorism Committee.")
    link = reverse_lazy("communiques:communique_list")
    author_name = _("CTC secretariat")

    def items(self):
        return (
            Communique.objects.filter(status=Communique.Status.PUBLISHED)
            .only("title", "slug", "summary", "published_at", "updated_at")
            .order_by("-published_at", "-pk")[:FEED_SIZE]
        )

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        # Plain text summary; Atom1Feed escapes it. The body stays on the page, sanitized there.
        return item.summary

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at
