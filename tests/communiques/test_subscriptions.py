"""Subscribing: double opt-in, answers that reveal nothing, rate limits, one-click unsubscribe,
preferences, opt-outs that stick, and access requests vetted by the secretariat."""

import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from communiques import selectors, subscriptions
from communiques.delivery import unsubscribe_token
from communiques.models import MailingList, Subscriber, Subscription
from tests.communiques.conftest import make_subscriber
from tests.support import free_port

pytestmark = pytest.mark.django_db

SUBSCRIBE = "communiques:subscribe"
ACCESS_REQUEST = "communiques:access_request"


@pytest.fixture(autouse=True)
def ratelimit_prefix(settings):
    """Give each test its own rate-limit counters, and delete exactly those afterwards.

    The cache is the Redis the broker also uses: never flush it.
    """
    prefix = f"test-rl-{uuid.uuid4().hex}:"
    settings.RATELIMIT_CACHE_PREFIX = prefix
    yield prefix
    cache = caches[settings.RATELIMIT_USE_CACHE]
    client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client is not None:  # Redis: delete our keys, and only ours
        redis = client(write=True)
        keys = list(redis.scan_iter(match=cache.make_key(prefix) + "*"))
        if keys:
            redis.delete(*keys)


def subscription(email, mailing_list=MailingList.COMMUNIQUES):
    return Subscription.objects.get(subscriber__email=email, mailing_list=mailing_list)


def confirm_path(message) -> str:
    match = re.search(r"https?://[^/\s]+(/lists/confirm/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def sign_up(client, email, *, name="Ana", language="fr", view=SUBSCRIBE, **extra):
    data = {"email": email, "name": name, "language": language, "organization": "OSCE",
            "reason": "I coordinate the regional programme.", **extra}
    return client.post(reverse(view), data)


# --- Double opt-in -----------------------------------------------------------------------------


def test_sign_up_sends_one_confirmation_and_only_a_post_confirms(client, django_capture_on_commit_callbacks):
    assert client.get(reverse(SUBSCRIBE)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client, "Ana@Example.org")
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.org"]
    pending = subscription("ana@example.org")
    assert (pending.state, pending.source, pending.confirmed_at) == (
        Subscription.State.PENDING, Subscription.Source.PUBLIC_FORM, None,
    )
    assert pending.subscriber.preferred_language == "fr"
    assert not selectors.communique_recipients().exists()

    link = confirm_path(message)
    page = client.get(link)  # what a link scanner does
    assert page.status_code == 200
    assert b"Confirm my subscription" in page.content
    assert subscription("ana@example.org").state == Subscription.State.PENDING

    confirmed = client.post(link)
    assert confirmed.status_code == 200
    active = subscription("ana@example.org")
    assert active.state == Subscription.State.ACTIVE
    assert active.confirmed_at is not None
    assert list(selectors.communique_recipients()) == [active]


def test_confirmation_link_expires(client, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "late@example.org")
    link = confirm_path(mail.outbox[0])

    later = timezone.now() + timedelta(seconds=settings.SUBSCRIPTION_CONFIRM_MAX_AGE + 60)
    with time_machine.travel(later):
        shown = client.get(link)
        posted = client.post(link)
    for response in (shown, posted):
        assert response.status_code == 400
        assert b"This confirmation link has expired" in response.content
    assert subscription("late@example.org").state == Subscription.State.PENDING

    just_in_time = timezone.now() + timedelta(seconds=settings.SUBSCRIPTION_CONFIRM_MAX_AGE - 60)
    with time_machine.travel(just_in_time):
        assert client.post(link).status_code == 200
    assert subscription("late@example.org").state == Subscription.State.ACTIVE


def test_a_tampered_link_is_refused(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "ana@example.org")
    link = confirm_path(mail.outbox[0])
    forged = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    assert client.post(forged).status_code == 400
    assert subscription("ana@example.org").state == Subscription.State.PENDING


# --- Answers that reveal nothing ---------------------------------------------------------------


@pytest.mark.parametrize("view", [SUBSCRIBE, ACCESS_REQUEST])
def test_the_answer_is_the_same_whatever_the_address_state(client, view, django_capture_on_commit_callbacks):
    mailing_list = MailingList.COMMUNIQUES if view == SUBSCRIBE else MailingList.CONTACTS
    make_subscriber("active@example.org", mailing_list=mailing_list)
    make_subscriber("left@example.org", mailing_list=mailing_list, state=Subscription.State.UNSUBSCRIBED)
    make_subscriber("bounced@example.org", mailing_list=mailing_list, state=Subscription.State.BOUNCED)
    make_subscriber("waiting@example.org", mailing_list=mailing_list, state=Subscription.State.PENDING,
                    source=Subscription.Source.PUBLIC_FORM)

    answers = {}
    for email in ("new@example.org", "active@example.org", "left@example.org", "bounced@example.org",
                  "waiting@example.org"):
        with django_capture_on_commit_callbacks(execute=True):
            response = sign_up(client, email, view=view)
        # A CSRF token differs on every response (forms on the page, e.g. the language switcher).
        content = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)
        answers[email] = (response.status_code, content)

    assert len(set(answers.values())) == 1
    status, content = answers["new@example.org"]
    assert status == 200
    assert b"If this address can be subscribed, we have sent a confirmation link" in content
    assert b"example.org" not in content
    # The active address got no email and is untouched; the others got a confirmation link.
    assert sorted(m.to[0] for m in mail.outbox) == [
        "bounced@example.org", "left@example.org", "new@example.org", "waiting@example.org",
    ]
    assert subscription("left@example.org", mailing_list).state == Subscription.State.UNSUBSCRIBED


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_failure_does_not_change_the_answer(client, settings, caplog):
    # Real commits here, so the confirmation is sent inside the request as in production.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2  # nobody listens
    response = sign_up(client, "new@example.org")
    assert response.status_code == 200
    assert b"If this address can be subscribed" in response.content
    assert "Could not send a confirmation email" in caplog.text
    assert subscription("new@example.org").state == Subscription.State.PENDING


def test_invalid_input_answers_400_and_writes_nothing(client):
    response = sign_up(client, "not-an-address")
    assert response.status_code == 400
    assert not Subscriber.objects.exists()
    response = sign_up(client, "someone@example.org", view=ACCESS_REQUEST, reason="")
    assert response.status_code == 400
    assert not Subscriber.objects.exists()


# --- Rate limit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("view", [SUBSCRIBE, ACCESS_REQUEST])
def test_the_sixth_post_in_an_hour_is_refused_with_429(client, view):
    for number in range(5):
        assert sign_up(client, f"person{number}@example.org", view=view).status_code == 200
    refused = sign_up(client, "person5@example.org", view=view)
    assert refused.status_code == 429
    assert b"Too many requests" in refused.content
    assert not Subscriber.objects.filter(email="person5@example.org").exists()
    assert client.get(reverse(view)).status_code == 200  # reading the form is not limited
    # Another network is not affected.
    other = Client(REMOTE_ADDR="192.0.2.77")
    assert sign_up(other, "person6@example.org", view=view).status_code == 200


def test_the_limit_lifts_after_an_hour(client):
    for number in range(6):
        sign_up(client, f"person{number}@example.org")
    assert sign_up(client, "again@example.org").status_code == 429
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        assert sign_up(client, "again@example.org").status_code == 200


# --- Leaving a list ------------------------------------------------------------------------------


def test_one_click_unsubscribe_needs_no_cookie_or_csrf_token_and_get_changes_nothing():
    subscriber = make_subscriber("reader@example.org", mailing_list=MailingList.COMMUNIQUES)
    token = unsubscribe_token(subscriber_id=subscriber.pk, mailing_list=MailingList.COMMUNIQUES)
    url = reverse("communiques:unsubscribe", args=[token])
    mail_client = Client(enforce_csrf_checks=True)

    shown = mail_client.get(url)
    assert shown.status_code == 200
    assert subscription("reader@example.org").state == Subscription.State.ACTIVE

    response = mail_client.post(url, data="List-Unsubscribe=One-Click",
                                content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    gone = subscription("reader@example.org")
    assert gone.state == Subscription.State.UNSUBSCRIBED
    assert not selectors.communique_recipients().exists()
    # Idempotent: a second click is fine.
    assert mail_client.post(url, data="List-Unsubscribe=One-Click",
                            content_type="application/x-www-form-urlencoded").status_code == 200


def test_an_unsubscribe_link_for_one_list_leaves_the_other():
    subscriber = make_subscriber("both@example.org", mailing_list=MailingList.CONTACTS)
    Subscription.objects.create(subscriber=subscriber, mailing_list=MailingList.COMMUNIQUES,
                                state=Subscription.State.ACTIVE, source=Subscription.Source.PUBLIC_FORM,
                                confirmed_at=timezone.now())
    token = unsubscribe_token(subscriber_id=subscriber.pk, mailing_list=MailingList.COMMUNIQUES)
    Client(enforce_csrf_checks=True).post(reverse("communiques:unsubscribe", args=[token]))
    assert subscription("both@example.org", MailingList.COMMUNIQUES).state == Subscription.State.UNSUBSCRIBED
    assert subscription("both@example.org", MailingList.CONTACTS).state == Subscription.State.ACTIVE


def test_preferences_page_changes_lists_and_language_but_cannot_join_the_contact_list(client):
    subscriber = make_subscriber("reader@example.org", mailing_list=MailingList.COMMUNIQUES)
    token = unsubscribe_token(subscriber_id=subscriber.pk, mailing_list=MailingList.COMMUNIQUES)
    url = reverse("communiques:preferences", args=[token])

    page = client.get(url)
    assert page.status_code == 200
    assert b"reader@example.org" in page.content

    refused = client.post(url, {"lists": ["communiques", "contacts"], "language": "ar"})
    assert refused.status_code == 400
    assert not Subscription.objects.filter(mailing_list=MailingList.CONTACTS).exists()

    saved = client.post(url, {"language": "ar"})  # nothing ticked: leave every list
    assert saved.status_code == 200
    assert subscription("reader@example.org").state == Subscription.State.UNSUBSCRIBED
    subscriber.refresh_from_db()
    assert subscriber.preferred_language == "ar"

    client.post(url, {"lists": ["communiques"], "language": "ar"})
    assert subscription("reader@example.org").state == Subscription.State.ACTIVE


def test_a_forged_preferences_link_is_refused(client):
    assert client.get(reverse("communiques:preferences", args=["forged-token"])).status_code == 400


# --- Opt-outs stick ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [Subscription.State.UNSUBSCRIBED, Subscription.State.BOUNCED])
@pytest.mark.parametrize("mailing_list", [MailingList.CONTACTS, MailingList.COMMUNIQUES])
def test_re_adding_or_re_importing_never_resubscribes(secretariat, state, mailing_list):
    make_subscriber("gone@example.org", mailing_list=mailing_list, state=state)

    added = subscriptions.subscriber_add(user=secretariat, email="GONE@example.org", mailing_list=mailing_list)
    report = subscriptions.subscribers_import(
        rows=[{"email": "gone@example.org", "name": "", "organization": ""}], mailing_list=mailing_list,
        user=secretariat,
    )

    assert added.skipped_reason
    assert (report.created, report.reactivated_or_kept, len(report.skipped)) == (0, 0, 1)
    assert subscription("gone@example.org", mailing_list).state == state
    assert not selectors.list_recipients(mailing_list).exists()


def test_the_add_page_says_clearly_when_an_address_was_not_added(client, secretariat):
    make_subscriber("gone@example.org", mailing_list=MailingList.CONTACTS, state=Subscription.State.UNSUBSCRIBED)
    client.force_login(secretariat)
    response = client.post(
        reverse("communiques:subscriber_add"),
        {"mailing_list": "contacts", "email": "gone@example.org", "language": "en"}, follow=True,
    )
    assert b"gone@example.org was NOT added" in response.content
    assert b"unsubscribed" in response.content
    assert subscription("gone@example.org", MailingList.CONTACTS).state == Subscription.State.UNSUBSCRIBED


def test_the_add_page_adds_a_vouched_address(client, secretariat):
    client.force_login(secretariat)
    response = client.post(
        reverse("communiques:subscriber_add"),
        {"mailing_list": "contacts", "email": "Vetted@Example.org", "name": "Vera", "organization": "OSCE",
         "language": "en"}, follow=True,
    )
    assert b"vetted@example.org added to the Circulated contact list" in response.content
    added = subscription("vetted@example.org", MailingList.CONTACTS)
    assert (added.state, added.source) == (Subscription.State.ACTIVE, Subscription.Source.SECRETARIAT)
    assert list(selectors.contact_list_recipients()) == [added]
    invalid = client.post(reverse("communiques:subscriber_add"),
                          {"mailing_list": "contacts", "email": "nope", "language": "en"})
    assert invalid.status_code == 400


def test_removing_from_a_list_through_the_page(client, secretariat):
    make_subscriber("reader@example.org", mailing_list=MailingList.CONTACTS)
    client.force_login(secretariat)
    target = subscription("reader@example.org", MailingList.CONTACTS)
    back = reverse("communiques:subscriber_list") + "?q=reader"
    response = client.post(reverse("communiques:subscription_remove", args=[target.pk]), {"next": back})
    assert response["Location"] == back
    assert subscription("reader@example.org", MailingList.CONTACTS).state == Subscription.State.UNSUBSCRIBED
    # An outside address in `next` is ignored.
    response = client.post(reverse("communiques:subscription_remove", args=[target.pk]),
                           {"next": "https://evil.example.com/"})
    assert response["Location"] == reverse("communiques:subscriber_list")


# --- Access requests -----------------------------------------------------------------------------


def request_and_confirm(client, email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert sign_up(client, email, view=ACCESS_REQUEST).status_code == 200
    [message] = [m for m in mail.outbox if m.to == [email]]
    assert client.post(confirm_path(message)).status_code == 200
    return subscription(email, MailingList.CONTACTS)


def test_access_request_needs_confirmation_and_approval(client, secretariat, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "asker@example.org", view=ACCESS_REQUEST)
    pending = subscription("asker@example.org", MailingList.CONTACTS)
    assert (pending.state, pending.source, pending.reason) == (
        Subscription.State.PENDING, Subscription.Source.ACCESS_REQUEST, "I coordinate the regional programme.",
    )
    assert pending.subscriber.organization_name == "OSCE"
    with pytest.raises(ValidationError):
        subscriptions.subscription_approve(user=secretariat, subscription=pending)  # not confirmed yet
    assert not selectors.access_requests_awaiting_approval().exists()

    client.post(confirm_path(mail.outbox[0]))
    confirmed = subscription("asker@example.org", MailingList.CONTACTS)
    assert confirmed.state == Subscription.State.PENDING
    assert not selectors.contact_list_recipients().exists()

    client.force_login(secretariat)
    queue = client.get(reverse("communiques:access_request_queue"))
    assert list(queue.context["requests"]) == [confirmed]
    assert b"I coordinate the regional programme." in queue.content

    response = client.post(reverse("communiques:subscription_approve", args=[confirmed.pk]))
    assert response["Location"] == reverse("communiques:access_request_queue")
    approved = subscription("asker@example.org", MailingList.CONTACTS)
    assert (approved.state, approved.approved_by) == (Subscription.State.ACTIVE, secretariat)
    assert list(selectors.contact_list_recipients()) == [approved]
    assert not selectors.access_requests_awaiting_approval().exists()


def test_rejecting_an_access_request(client, secretariat, django_capture_on_commit_callbacks):
    confirmed = request_and_confirm(client, "asker@example.org", django_capture_on_commit_callbacks)
    client.force_login(secretariat)
    client.post(reverse("communiques:subscription_reject", args=[confirmed.pk]))
    assert not Subscription.objects.filter(pk=confirmed.pk).exists()
    assert not selectors.contact_list_recipients().exists()


@pytest.mark.parametrize("source", [Subscription.Source.IMPORT, Subscription.Source.SECRETARIAT,
                                    Subscription.Source.ACCESS_REQUEST])
def test_an_address_removed_by_the_secretariat_needs_a_new_approval(client, secretariat, source,
                                                                    django_capture_on_commit_callbacks):
    make_subscriber("removed@example.org", mailing_list=MailingList.CONTACTS, source=source)
    subscriptions.subscription_remove(user=secretariat, subscription=subscription("removed@example.org",
                                                                                  MailingList.CONTACTS))

    again = request_and_confirm(client, "removed@example.org", django_capture_on_commit_callbacks)

    assert again.state == Subscription.State.PENDING
    assert not selectors.contact_list_recipients().exists()
    assert list(selectors.access_requests_awaiting_approval()) == [again]
    subscriptions.subscription_approve(user=secretariat, subscription=again)
    assert list(selectors.contact_list_recipients()) == [subscription("removed@example.org", MailingList.CONTACTS)]


def test_an_unsubscribed_reader_can_come_back_by_confirming(client, django_capture_on_commit_callbacks):
    make_subscriber("back@example.org", mailing_list=MailingList.COMMUNIQUES, state=Subscription.State.UNSUBSCRIBED)
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "back@example.org")
    assert subscription("back@example.org").state == Subscription.State.UNSUBSCRIBED
    client.post(confirm_path(mail.outbox[0]))
    assert subscription("back@example.org").state == Subscription.State.ACTIVE
