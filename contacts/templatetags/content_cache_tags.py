"""`{% cached_content %}…{% endcached_content %}`: a page's main content, served from or stored in
the directory content cache (contacts/content_cache.py) through the view's `fragment`."""

from django import template

register = template.Library()


class CachedContentNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist

    def render(self, context):
        fragment = context.get("fragment")
        if fragment is None:
            return self.nodelist.render(context)
        if fragment.content is not None:
            return fragment.content
        content = self.nodelist.render(context)
        fragment.store(content)
        return content


@register.tag
def cached_content(parser, token):
    nodelist = parser.parse(("endcached_content",))
    parser.delete_first_token()
    return CachedContentNode(nodelist)
