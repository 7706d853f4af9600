"""Messages sent from a pre-serialised template are the messages Django would build, byte for byte,
and every case the template cannot serve is built the usual way."""

import re
from email.header import decode_header, make_header

import pytest
from django.core.mail.message import sanitize_address
from django.utils import timezone

from communiques import circulation, delivery
from communiques.models import Delivery
from tests.communiques.conftest import make_subscriber
from tests.factories import FocalPointFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

BOUNDARY = re.compile(rb'boundary="([^"]+)"')


def _same_boundaries(raw: bytes) -> bytes:
    """Name a message's MIME boundaries by their order: two builds of one message differ only there."""
    for index, boundary in enumerate(dict.fromkeys(BOUNDARY.findall(raw))):
        raw = raw.replace(boundary, b"BOUNDARY-%d" % index)
    return raw


@pytest.fixture
def dispatch(media_root):
    organization = OrganizationFactory(
        acronym="LAS", name="League of Arab States", translations={"ar": {"name": "جامعة الدول العربية"}},
    )
    FocalPointFactory(organization=organization, full_name="Nour Haddad", email="nour@example.org")
    for address, language in [("en@example.org", "en"), ("fr@example.org", "fr"), ("ar@example.org", "ar")]:
        subscriber = make_subscriber(address)
        subscriber.preferred_language = language
        subscriber.save()
    return circulation.contact_list_circulate(include_csv=True, include_xlsx=True).dispatch


def test_a_prepared_copy_is_byte_for_byte_the_built_message(dispatch, settings):
    date, message_id = "Sun, 29 Nov 2026 14:00:00 -0000", "<1.2.3@portal.example.org>"
    for row in Delivery.objects.filter(dispatch=dispatch).select_related("subscriber"):
        language = delivery.message_language(dispatch, row.subscriber.preferred_language)
        template = delivery._message_template(dispatch.pk, language)
        assert template is not None
        token = delivery.unsubscribe_token(subscriber_id=row.subscriber_id, mailing_list=dispatch.mailing_list)
        prepared = template.render(to=row.email, token=token, message_id=message_id, date=date)
        built = delivery._message(
            dispatch, language=language, to=row.email, token=token,
            attachments=delivery._attachments(dispatch.pk, language),
            headers={"Date": date, "Message-ID": message_id},
        ).message().as_bytes(linesep="\r\n")
        assert _same_boundaries(prepared) == _same_boundaries(built)
        assert token.encode() in prepared and row.email.encode() in prepared
        # MAIL FROM names the address alone, as smtplib makes of Django's sender.
        assert template.envelope_sender == "no-reply@example.org"
        assert f"<{template.envelope_sender}>" in sanitize_address(settings.DEFAULT_FROM_EMAIL, "utf-8")


def test_every_copy_has_its_own_links_and_message_id(smtp_settings, smtp_sink, dispatch):
    delivery.dispatch_process(dispatch_id=dispatch.pk)
    messages = {message["To"]: message for message in smtp_sink.messages}
    assert set(messages) == {"en@example.org", "fr@example.org", "ar@example.org", "nour@example.org"}
    assert len({message["Message-ID"] for message in messages.values()}) == len(messages)
    for address, message in messages.items():
        subscriber_id = Delivery.objects.get(dispatch=dispatch, email=address).subscriber_id
        token = delivery.unsubscribe_token(subscriber_id=subscriber_id, mailing_list="contacts")
        links = message["List-Unsubscribe"]
        # The token's signature carries a timestamp: compare what it names, not its bytes.
        signed = re.search(r"/lists/unsubscribe/([^/>]+)/>", links).group(1)
        assert delivery.unsubscribe_token_read(signed) == (subscriber_id, "contacts")
        assert f"unsubscribe%20{signed}>" in links
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Date"] and message["Message-ID"].startswith("<")
        text, html = (part.get_payload(decode=True).decode() for part in message.walk()
                      if part.get_content_type() in ("text/plain", "text/html") and not part.get_filename())
        assert f"/lists/unsubscribe/{signed}/" in text and f"/lists/preferences/{signed}/" in html
        assert "@@" not in text + html
        assert token.split(":")[0] == signed.split(":")[0]  # the same payload: subscriber and list
    arabic = str(make_header(decode_header(messages["ar@example.org"]["Subject"])))
    assert re.search("[\u0600-\u06ff]", arabic)
    assert set(Delivery.objects.filter(dispatch=dispatch).values_list("status", flat=True)) == {"sent"}


def test_a_body_with_long_lines_is_built_message_by_message(smtp_settings, smtp_sink):
    """Over 998 octets a line goes out quoted-printable, which wraps links: no template then. (Two
    checks say so, the body's encoding and the count of sentinels found; removing both fails this.)"""
    reader = make_subscriber("long@example.org")
    long_line = "word " * 300
    dispatch = delivery.dispatch_create(
        kind="communique", mailing_list="contacts", subject="Long", body_text=f"{long_line}\n@@UNSUBSCRIBE_URL@@",
        body_html=f"<p>{long_line}</p><a href=\"@@UNSUBSCRIBE_URL@@\">x</a>", recipients=reader.subscriptions.all(),
    )
    assert delivery._message_template(dispatch.pk, "en") is None
    delivery.dispatch_process(dispatch_id=dispatch.pk)
    (message,) = smtp_sink.messages
    text = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert "/lists/unsubscribe/" in text.get_payload(decode=True).decode()
    assert Delivery.objects.get(dispatch=dispatch).status == Delivery.Status.SENT


def test_an_address_that_needs_encoding_is_built_message_by_message(smtp_settings, smtp_sink, monkeypatch):
    subscriber = make_subscriber("reader@bücher.example")
    assert not delivery.PLAIN_ADDRESS.fullmatch(subscriber.email)
    make_subscriber("plain@example.org")
    result = circulation.contact_list_circulate()
    built = []
    original = delivery._message
    monkeypatch.setattr(delivery, "_message", lambda *args, **kwargs: built.append(kwargs["to"]) or original(
        *args, **kwargs))
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)
    # The template was built once (with its sentinel address), the encoded address on its own.
    assert built.count("reader@bücher.example") == 1 and "plain@example.org" not in built
    assert sorted(smtp_sink.recipients()) == ["plain@example.org", "reader@xn--bcher-kva.example"]


@pytest.mark.parametrize("address", ["a@example.org", "first.last+tag@sub.example.co.uk", "o'brien@example.org",
                                     "x_y-z@a-b.example"])
def test_plain_addresses_are_sent_as_written(address):
    assert delivery.PLAIN_ADDRESS.fullmatch(address)
    assert sanitize_address(address, "utf-8") == address


@pytest.mark.parametrize("address", ["ünï@example.org", "a@bücher.example", "a b@example.org", "a..b@example.org",
                                     ".a@example.org", "a@-example.org", "\"quoted\"@example.org"])
def test_other_addresses_are_not_plain(address):
    assert not delivery.PLAIN_ADDRESS.fullmatch(address)


def test_marking_sent_touches_only_a_claimed_row(dispatch):
    rows = delivery._claim(dispatch_id=dispatch.pk, batch_size=2)
    claimed, other = rows[0], Delivery.objects.exclude(pk__in=[row.pk for row in rows]).filter(dispatch=dispatch)[0]
    before = timezone.now()
    delivery._mark_sent(claimed)
    delivery._mark_sent(other)  # pending: not this worker's to mark
    claimed.refresh_from_db()
    other.refresh_from_db()
    assert (claimed.status, claimed.attempts, claimed.claimed_until, claimed.last_error) == ("sent", 1, None, "")
    assert claimed.sent_at >= before
    assert (other.status, other.attempts, other.sent_at) == ("pending", 0, None)
