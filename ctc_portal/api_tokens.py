"""API tokens (rest_framework.authtoken): each user's own token page, and the secretariat's list.

A user has at most one token; its key is shown once, on the page that created it, and never again
(the page stores it nowhere else). Regenerating replaces the key at once; revoking deletes it. The
owner and the secretariat may revoke. A token counts for the API's rate limit of its user.

Creating, regenerating and revoking are recorded in the audit log (accounts.audit); using a token
is recorded by accounts.authentication.AuditedTokenAuthentication where the settings use it.

Who may hold a token: anyone with a role in the directory (the API has nothing else to offer: the
published communiqués need none). A token authenticates as its user, so the gate decides what it
reaches; a deactivated account's token stops working (DRF refuses inactive users).
"""

import logging

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import ListView, TemplateView
from rest_framework.authtoken.models import Token

from accounts import audit
from contacts.views import DirectoryAccessMixin, SecretariatRequiredMixin
from ctc_portal import gate

logger = logging.getLogger(__name__)
User = get_user_model()


# --- Services -----------------------------------------------------------------------------------


def may_hold_api_token(user) -> bool:
    return gate.can_read_directory(user)


@transaction.atomic
def api_token_create(*, user) -> Token:
    """Give the user a new token, replacing any earlier one (which stops working at once).

    Raises PermissionDenied for a user without a role in the directory.
    """
    if not may_hold_api_token(user):
        raise PermissionDenied
    replaced, _ = Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    audit.record(event=audit.Event.API_TOKEN_CREATED, actor=user, target=user, replaced_earlier=bool(replaced))
    logger.info("API token %s for %s", "regenerated" if replaced else "created", user.get_username())
    return token


@transaction.atomic
def api_token_revoke(*, actor, user) -> bool:
    """Delete the user's token; return whether there was one. The owner or the secretariat may."""
    if actor.pk != user.pk and not gate.is_secretariat(actor):
        raise PermissionDenied
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        audit.record(event=audit.Event.API_TOKEN_REVOKED, actor=actor, target=user)
        logger.info("API token of %s revoked by %s", user.get_username(), actor.get_username())
    return bool(deleted)


# --- Pages --------------------------------------------------------------------------------------


@method_decorator(never_cache, name="dispatch")
class ApiTokenView(DirectoryAccessMixin, TemplateView):
    """The user's own token: when it was created; create, regenerate or revoke it (POST `action`)."""

    template_name = "api/token_detail.html"

    def get_context_data(self, **kwargs):
        if "token" not in kwargs:
            kwargs["token"] = Token.objects.filter(user=self.request.user).first()
        return super().get_context_data(**kwargs)

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action")
        if action == "revoke":
            if api_token_revoke(actor=request.user, user=request.user):
                messages.success(request, _("Your API token was revoked: it no longer works."))
            return redirect("api_token")
        if action not in ("create", "regenerate"):
            return redirect("api_token")
        token = api_token_create(user=request.user)
        # Shown on this answer only; never_cache keeps it out of the browser's and proxies' caches.
        return self.render_to_response(self.get_context_data(token=token, new_key=token.key))


class ApiTokenListView(SecretariatRequiredMixin, ListView):
    """Every API token: whose, and since when (never the keys)."""

    template_name = "api/token_list.html"
    context_object_name = "tokens"
    paginate_by = 50

    def get_queryset(self):
        return Token.objects.select_related("user").order_by("-created", "user__username")


class ApiTokenRevokeView(SecretariatRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, user_pk):
        token = get_object_or_404(Token.objects.select_related("user"), user_id=user_pk)
        api_token_revoke(actor=request.user, user=token.user)
        messages.success(
            request, _("The API token of %(user)s was revoked.") % {"user": token.user.get_username()},
        )
        return redirect("api_token_list")
