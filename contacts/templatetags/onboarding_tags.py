"""Template tags of the onboarding pages."""

from django import template

from ctc_portal import gate

from ..onboarding import invitation_list
from ..onboarding_forms import InvitationForm

register = template.Library()


@register.inclusion_tag("contacts/invitation_panel.html", takes_context=True)
def invitation_panel(context, organization):
    """Render the invitations section of an organization's liaisons page: its invitations with their
    state, re-send and revoke buttons, and the form to invite someone. Nothing for anyone who does
    not manage liaisons.

    A tag rather than view context, so the liaisons page (contacts/views.py) needs no change.
    """
    request = context["request"]
    if not gate.may_manage_liaisons(request.user):
        return {"hidden": True}
    return {
        "organization": organization,
        "invitations": invitation_list(user=request.user, organization=organization),
        "form": InvitationForm(),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
