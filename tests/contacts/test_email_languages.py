"""Every email to a portal account is in that account's language (issue 7): invitations, password
links, verification reminders and the secretariat's digest; Arabic HTML is laid out right to left.

Each kind is sent while another language is active (the page's, or none for the scheduler), so the
recipient's language, not the sender's, is what the assertions see.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts import services as account_services
from accounts.models import UserPreference
from contacts import onboarding, reviews, services, tasks
from contacts.models import Invitation
from tests.factories import OrganizationFactory, UserFactory, make_liaison, make_secretariat

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Tamarind-Lantern-2024"
LINK = re.compile(r"^(https?://\S+/invitation/\S+/)$", re.MULTILINE)
START = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def with_language(user, language):
    if language is not None:
        account_services.user_language_set(user=user, language=language)
    return user


def message_to(address: str):
    [message] = [message for message in mail.outbox if address in message.to]
    return message


# --- Invitations ----------------------------------------------------------------------------------

# Subject, greeting (text and HTML), button (HTML).
INVITATION = {
    "en": ("Invitation: liaison of ASEAN in the CTC Contact Directory", "Hello,", "Accept the invitation"),
    "fr": ("Invitation\u00a0: agent de liaison de ASEAN dans le Répertoire des contacts du CCT", "Bonjour,",
           "Accepter l’invitation"),
    "ar": ("دعوة: مسؤول اتصال لـ ASEAN في دليل جهات الاتصال التابع للجنة مكافحة الإرهاب", "تحية طيبة،",
           "قبول الدعوة"),
}


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_invitation_is_in_its_language_whatever_the_inviting_page(
    language, secretariat, organization, django_capture_on_commit_callbacks,
):
    other = "ar" if language != "ar" else "fr"
    with translation.override(other), django_capture_on_commit_callbacks(execute=True):
        invitation = onboarding.invitation_create(
            actor=secretariat, organization=organization, email="amina@example.org", language=language,
        )
    assert invitation.language == language
    [message] = mail.outbox
    subject, greeting, button = INVITATION[language]
    assert message.subject == subject
    assert message.body.startswith(greeting) and greeting in html_of(message) and button in html_of(message)
    for other_language in {"en", "fr", "ar"} - {language}:
        assert INVITATION[other_language][2] not in html_of(message)
    direction = "rtl" if language == "ar" else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in html_of(message)


def test_invitation_defaults_to_the_inviting_persons_language(secretariat, organization,
                                                             django_capture_on_commit_callbacks):
    with translation.override("fr"), django_capture_on_commit_callbacks(execute=True):
        invitation = onboarding.invitation_create(actor=secretariat, organization=organization, email="a@example.org")
    assert invitation.language == "fr"
    assert mail.outbox[0].subject == INVITATION["fr"][0]


def test_invitation_resent_keeps_its_language(secretariat, organization, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = onboarding.invitation_create(
            actor=secretariat, organization=organization, email="a@example.org", language="ar",
        )
    mail.outbox.clear()
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        onboarding.invitation_resend(actor=secretariat, invitation=invitation)
    assert mail.outbox[0].subject == INVITATION["ar"][0]


def test_invitation_form_offers_the_page_language_and_stores_the_choice(client, secretariat, organization,
                                                                       django_capture_on_commit_callbacks):
    client.force_login(secretariat)
    page = client.get(reverse("contacts:organization_liaisons", args=[organization.pk]),
                      HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    field = page[page.index('id="id_language"'):]
    field = field[:field.index("</select>")]
    assert re.search(r'<option value="fr" lang="fr" dir="ltr" selected>', field)
    assert '<option value="ar" lang="ar" dir="rtl">العربية</option>' in field

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("contacts:invitation_create", args=[organization.pk]),
                               {"email": "omar@example.org", "language": "ar"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 302
    assert Invitation.objects.get().language == "ar"
    assert mail.outbox[0].subject == INVITATION["ar"][0]


def test_invitation_form_refuses_a_language_not_offered(client, secretariat, organization,
                                                        django_capture_on_commit_callbacks):
    client.force_login(secretariat)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("contacts:invitation_create", args=[organization.pk]),
                               {"email": "omar@example.org", "language": "de"})
    assert response.status_code == 400
    assert response.context["form"].errors == {"language": ["Choose one of the languages offered."]}
    assert not Invitation.objects.exists() and mail.outbox == []


def test_invitation_service_refuses_a_language_not_offered(secretariat, organization):
    with pytest.raises(ValidationError) as caught:
        onboarding.invitation_create(actor=secretariat, organization=organization, email="a@example.org",
                                     language="de")
    assert caught.value.message_dict == {"language": ["Choose one of the languages offered."]}
    assert not Invitation.objects.exists()


def test_an_account_made_from_an_invitation_starts_in_its_language(client, secretariat, organization,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        onboarding.invitation_create(actor=secretariat, organization=organization, email="omar@example.org",
                                     language="ar")
    url = LINK.search(mail.outbox[0].body).group(1)
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    response = client.post(path, {"username": "omar", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert UserPreference.objects.get(user__username="omar").language == "ar"
    assert response.cookies["django_language"].value == "ar"  # the interface follows from the next page on


def test_the_organization_is_named_in_the_email_language(secretariat, django_capture_on_commit_callbacks):
    organization = OrganizationFactory(
        acronym="LAS", name="League of Arab States",
        translations={"ar": {"name": "جامعة الدول العربية", "acronym": "الجامعة العربية"}},
    )
    with django_capture_on_commit_callbacks(execute=True):
        onboarding.invitation_create(actor=secretariat, organization=organization, email="a@example.org",
                                     language="ar")
        onboarding.invitation_create(actor=secretariat, organization=organization, email="b@example.org",
                                     language="en")
    arabic, english = mail.outbox
    assert "جامعة الدول العربية" in arabic.body and "الجامعة العربية" in arabic.subject
    assert "League of Arab States" not in arabic.body
    assert "League of Arab States (LAS)" in english.body and "جامعة" not in english.body


# --- Password links -------------------------------------------------------------------------------

PASSWORD_RESET = {
    "en": ("CTC Contact Directory: reset your password", "To choose a new password, open this link:"),
    "fr": ("Répertoire des contacts du CCT\u00a0: réinitialisez votre mot de passe",
           "Pour choisir un nouveau mot de passe, ouvrez ce lien\u00a0:"),
    "ar": ("دليل جهات الاتصال التابع للجنة مكافحة الإرهاب: إعادة تعيين كلمة المرور",
           "لاختيار كلمة مرور جديدة، افتح هذا الرابط:"),
}


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_password_reset_email_is_in_the_accounts_language(client, language):
    user = with_language(UserFactory(username="amina", email="amina@example.org"), language)
    page_language = "fr" if language != "fr" else "ar"
    response = client.post(reverse("password_reset"), {"email": user.email}, HTTP_ACCEPT_LANGUAGE=page_language)
    assert response.status_code == 302
    [message] = mail.outbox
    subject, words = PASSWORD_RESET[language]
    assert message.subject == subject and words in message.body
    assert "/accounts/reset/" in message.body  # the link itself is the same in every language


def test_password_reset_email_without_a_stored_language_follows_the_page(client):
    user = UserFactory(username="amina", email="amina@example.org")
    client.post(reverse("password_reset"), {"email": user.email}, HTTP_ACCEPT_LANGUAGE="ar")
    assert mail.outbox[0].subject == PASSWORD_RESET["ar"][0]


def test_new_account_password_email_is_in_its_language(secretariat, organization, django_capture_on_commit_callbacks):
    user = with_language(UserFactory(username="new", email="new@example.org"), "fr")
    with translation.override("ar"), django_capture_on_commit_callbacks(execute=True):
        services._send_password_set_email(user=user, organization=organization)
    assert mail.outbox[0].subject == "Répertoire des contacts du CCT\u00a0: votre compte"
    assert "Pour choisir votre mot de passe, ouvrez ce lien\u00a0:" in mail.outbox[0].body


# --- Verification reminders (sent by the scheduler) -------------------------------------------------

REMINDER = {
    "en": ("Please confirm the entries of ASEAN in the CTC Contact Directory", "Review the entries"),
    "fr": ("Veuillez confirmer les entrées de ASEAN dans le Répertoire des contacts du CCT", "Examiner les entrées"),
    "ar": ("يرجى تأكيد إدخالات ASEAN في دليل جهات الاتصال التابع للجنة مكافحة الإرهاب", "مراجعة الإدخالات"),
}


@pytest.fixture
def stale_organization(time_machine, settings):
    settings.VERIFICATION_STALE_DAYS = 10
    time_machine.move_to(START, tick=False)
    organization = OrganizationFactory(acronym="ASEAN", name="Association of Southeast Asian Nations")
    time_machine.move_to(START + timedelta(days=11), tick=False)
    return organization


@pytest.mark.parametrize("page_language", [None, "ar"])
def test_verification_reminders_reach_each_liaison_in_their_language(stale_organization, page_language):
    organization = stale_organization
    for language in ("en", "fr", "ar"):
        with_language(make_liaison(organization, username=f"liaison-{language}", email=f"{language}@example.org"),
                      language)
    make_liaison(organization, username="liaison-none", email="none@example.org")  # never chose: English

    # As beat runs it: the Celery task, no request. A language left active must not leak in either.
    with translation.override(page_language):
        assert tasks.verification_reminders_send.apply().get() == 1

    assert len(mail.outbox) == 4
    for language in ("en", "fr", "ar"):
        message = message_to(f"{language}@example.org")
        subject, button = REMINDER[language]
        assert message.subject == subject
        assert button in html_of(message)
        direction = "rtl" if language == "ar" else "ltr"
        assert f'<html lang="{language}" dir="{direction}">' in html_of(message)
    assert message_to("none@example.org").subject == REMINDER["en"][0]


def test_verification_reminders_read_every_language_in_the_same_query(stale_organization):
    for number, language in enumerate(["fr", "ar", "en", "fr", "ar", "en"]):
        with_language(make_liaison(stale_organization, username=f"l{number}", email=f"l{number}@example.org"),
                      language)
    with CaptureQueriesContext(connection) as queries:
        onboarding.verification_reminders_send()
    assert len(mail.outbox) == 6
    assert not [q["sql"] for q in queries.captured_queries if 'FROM "accounts_userpreference"' in q["sql"]]


# --- The secretariat's digest (sent by the scheduler) ----------------------------------------------

DIGEST = {
    "en": ("CTC directory: 1 change by a liaison to review", "Email", "Review or revert them in the review queue"),
    "fr": ("Répertoire du CCT\u00a0: 1 modification d’un agent de liaison à examiner", "Courriel",
           "Examinez-les ou annulez-les dans la file d’examen"),
    "ar": ("دليل لجنة مكافحة الإرهاب: تغيير واحد (1) من مسؤول اتصال للمراجعة", "البريد الإلكتروني",
           "راجعها أو تراجع عنها في قائمة المراجعة"),
}


def liaison_edit(liaison, focal_point, email="new.address@example.org"):
    focal_point.refresh_from_db()
    services.focal_point_update(user=liaison, focal_point=focal_point, data={"email": email},
                                version=focal_point.version)


def secretariat_in(language, name=None):
    name = name or f"secretariat-{language}"
    return with_language(make_secretariat(username=name, email=f"{name}@example.org"), language)


@pytest.mark.parametrize("page_language", [None, "fr"])
def test_digest_reaches_each_secretariat_member_in_their_language(liaison, focal_point, page_language):
    for language in ("en", "fr", "ar"):
        secretariat_in(language)
    liaison_edit(liaison, focal_point)

    with translation.override(page_language):
        assert tasks.liaison_changes_digest_send.apply().get() == 1

    assert len(mail.outbox) == 3
    for language, (subject, field_label, link_text) in DIGEST.items():
        message = message_to(f"secretariat-{language}@example.org")
        assert message.subject == subject
        html = html_of(message)
        assert f"{field_label}:" in message.body and f"<strong>{field_label}:</strong>" in html
        assert link_text in html
        assert "new.address@example.org" in message.body  # the data itself is not translated
        for other, (other_subject, _label, other_link) in DIGEST.items():
            if other != language:
                assert other_link not in html


def test_digest_html_is_right_to_left_in_arabic(liaison, focal_point):
    secretariat_in("ar")
    secretariat_in("en")
    liaison_edit(liaison, focal_point)
    reviews.liaison_changes_digest_send()
    arabic = html_of(message_to("secretariat-ar@example.org"))
    english = html_of(message_to("secretariat-en@example.org"))
    assert '<html lang="ar" dir="rtl">' in arabic and '<html lang="en" dir="ltr">' in english
    # Lists indented on the side they start from, and the arrow from old to new pointing the reading way.
    assert "padding-right:20px" in arabic and "padding-left" not in arabic
    assert "padding-left:20px" in english and "padding-right" not in english
    assert '</del> ← <ins dir="auto">' in arabic and "→" not in arabic
    assert '</del> → <ins dir="auto">' in english and "←" not in english


def _digest_queries(queries, needle: str) -> int:
    return sum(needle in query["sql"] for query in queries.captured_queries)


def test_digest_is_put_into_words_once_per_language_not_per_recipient(liaison, focal_point):
    for language in ("en", "fr", "ar"):
        secretariat_in(language, name=f"s0-{language}")
    liaison_edit(liaison, focal_point)
    with CaptureQueriesContext(connection) as few:
        reviews.liaison_changes_digest_send()
    assert len(mail.outbox) == 3

    for number in range(1, 6):
        for language in ("en", "fr", "ar"):
            secretariat_in(language, name=f"s{number}-{language}")
    liaison_edit(liaison, focal_point, email="newer.address@example.org")
    mail.outbox.clear()
    with CaptureQueriesContext(connection) as many:
        reviews.liaison_changes_digest_send()
    assert len(mail.outbox) == 18
    # The history is read per language (three), never per recipient; languages come with the recipients.
    history = 'FROM "contacts_historicalfocalpoint"'
    assert _digest_queries(many, history) == _digest_queries(few, history) <= 6
    assert _digest_queries(many, 'FROM "accounts_userpreference"') == 0
