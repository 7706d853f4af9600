"""French and Arabic: every marked string is translated, the compiled catalogs match the sources,
and pages and emails come out in the reader's language (Arabic right to left).

To update after changing strings:
    .venv/bin/python manage.py makemessages -l fr -l ar --ignore=.venv --ignore=var --ignore=tests --ignore=benchmarks
    (translate the new or fuzzy entries in locale/*/LC_MESSAGES/django.po)
    .venv/bin/python manage.py compilemessages --ignore=.venv
and commit both the .po and the .mo files.
"""

import ast
import gettext
import io
import re
import tokenize
from datetime import datetime
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation.template import templatize
from django_celery_beat.models import CrontabSchedule

from communiques import editions, messages, schedules, subscriptions
from communiques.models import Edition, MailingList, Subscriber
from tests.conftest import PASSWORD

ROOT = Path(settings.BASE_DIR)
LOCALE = ROOT / "locale"
LANGUAGES = ["fr", "ar"]
NPLURALS = {"fr": 2, "ar": 6}
# What makemessages reads: the apps' Python and every template (tests and benchmarks are ignored).
SOURCE_DIRS = ["accounts", "communiques", "contacts", "ctc_portal"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|%[sd]")


def po_file(language: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


def mo_catalog(language: str) -> gettext.GNUTranslations:
    with open(LOCALE / language / "LC_MESSAGES" / "django.mo", "rb") as handle:
        return gettext.GNUTranslations(handle)


# --- (a) every entry translated -------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language):
    po = po_file(language)
    assert len(po) > 100, "the catalog looks truncated"
    problems = []
    for entry in po:
        if entry.obsolete:
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry.msgid!r}")
        if entry.msgid_plural:
            forms = [entry.msgstr_plural.get(n, "") for n in range(NPLURALS[language])]
            if not all(form.strip() for form in forms):
                problems.append(f"missing plural form: {entry.msgid!r}")
        elif not entry.msgstr.strip():
            problems.append(f"untranslated: {entry.msgid!r}")
    assert not problems, f"{language}: {len(problems)} entries need work:\n" + "\n".join(problems[:40])


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    problems = []
    for entry in po_file(language):
        if entry.obsolete:
            continue
        source = set(PLACEHOLDER.findall(entry.msgid + " " + entry.msgid_plural))
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for text in translations:
            unknown = set(PLACEHOLDER.findall(text)) - source
            if unknown or (not entry.msgid_plural and set(PLACEHOLDER.findall(text)) != source):
                problems.append(f"{entry.msgid!r} -> {text!r}")
    assert not problems, "\n".join(problems)


def test_arabic_has_six_plural_forms():
    assert po_file("ar").metadata["Plural-Forms"].startswith("nplurals=6;")
    catalog = mo_catalog("ar")
    # 0, 1, 2, 3–10, 11–99 and 100 each take their own form.
    assert [catalog.plural(n) for n in (0, 1, 2, 5, 11, 100)] == [0, 1, 2, 3, 4, 5]


# --- (b) the compiled catalogs are up to date -----------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_matches_the_po_file(language):
    """The .mo files are committed (nothing compiles at run time): they must say what the .po says."""
    catalog = mo_catalog(language)
    forms = {}  # plural form index -> a number that selects it
    for n in range(200):
        forms.setdefault(catalog.plural(n), n)
    assert len(forms) == NPLURALS[language]
    stale = []
    for entry in po_file(language):
        if entry.obsolete or "fuzzy" in entry.flags:
            continue
        if entry.msgid_plural:
            for index, number in forms.items():
                if entry.msgctxt:
                    got = catalog.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, number)
                else:
                    got = catalog.ngettext(entry.msgid, entry.msgid_plural, number)
                if got != entry.msgstr_plural[index]:
                    stale.append(entry.msgid)
        else:
            got = catalog.pgettext(entry.msgctxt, entry.msgid) if entry.msgctxt else catalog.gettext(entry.msgid)
            if got != entry.msgstr:
                stale.append(entry.msgid)
    assert not stale, (
        f"locale/{language}/LC_MESSAGES/django.mo is older than the .po: run compilemessages. "
        f"{len(stale)} differ, e.g. {stale[:5]}"
    )


# --- The catalogs hold every string the code marks ------------------------------------------------

PY_KEYWORDS = {  # name -> (index of the context argument or None, index of the msgid, index of the plural or None)
    "_": (None, 0, None), "gettext": (None, 0, None), "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None), "ngettext": (None, 0, 1), "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None), "pgettext_lazy": (0, 1, None), "npgettext": (0, 1, 2), "npgettext_lazy": (0, 1, 2),
}


def _message_from_call(name: str, args: list) -> tuple[str, str] | None:
    context, msgid, _plural = PY_KEYWORDS[name]
    wanted = [i for i in (context, msgid) if i is not None]
    if len(args) <= max(wanted) or not all(isinstance(args[i], str) for i in wanted):
        return None
    return (args[context] if context is not None else "", args[msgid])


def python_messages(path: Path) -> set[tuple[str, str]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name in PY_KEYWORDS:
            args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
            message = _message_from_call(name, args)
            if message:
                found.add(message)
    return found


def template_messages(path: Path) -> set[tuple[str, str]]:
    """Read a template the way makemessages does: Django's templatize, then the gettext calls in it."""
    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    # Its strings are single-line reprs; indentation means nothing here but would upset the tokenizer.
    code = "\n".join(line.lstrip() for line in code.splitlines())
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline)
              if t.type in (tokenize.NAME, tokenize.OP, tokenize.STRING)]
    found = set()
    for i, token in enumerate(tokens):
        if token.type == tokenize.NAME and token.string in PY_KEYWORDS and tokens[i + 1].string == "(":
            args, j = [], i + 2
            while tokens[j].string != ")":
                if tokens[j].type == tokenize.STRING:
                    args.append(ast.literal_eval(tokens[j].string))
                elif tokens[j].string != ",":
                    args.append(None)
                j += 1
            message = _message_from_call(token.string, args)
            if message:
                found.add(message)
    return found


def test_catalogs_contain_every_marked_string():
    """A string marked in code or templates but missing from the .po files: makemessages was not run."""
    marked = set()
    for directory in SOURCE_DIRS:
        for path in (ROOT / directory).rglob("*.py"):
            marked |= python_messages(path)
    for path in (ROOT / "templates").rglob("*"):
        if path.suffix in (".html", ".txt"):
            marked |= template_messages(path)
    assert len(marked) > 500
    for language in LANGUAGES:
        known = {(entry.msgctxt or "", entry.msgid) for entry in po_file(language) if not entry.obsolete}
        missing = sorted(marked - known)
        assert not missing, (
            f"{len(missing)} marked strings are not in locale/{language}: run makemessages and translate them. "
            f"E.g. {[msgid for _ctx, msgid in missing[:8]]}"
        )


# --- (c) and (d) pages in French and Arabic -------------------------------------------------------

ENGLISH_MENU_WORDS = [
    "Organizations", "Focal points", "My organizations", "Log out", "Change password", "Contact Directory",
]


def _menu(html: str) -> str:
    return html[html.index("<header>"):html.index("</header>")]


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "words"), [
    ("fr", ["Se connecter", "Nom d’utilisateur", "Mot de passe oublié\u00a0?", "Répertoire des contacts du CCT"]),
    ("ar", ["تسجيل الدخول", "اسم المستخدم", "هل نسيت كلمة المرور؟", "دليل جهات الاتصال"]),
])
def test_login_page_in_the_browser_language(client, language, words):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for word in words:
        assert word in html
    assert "Forgot your password?" not in html and ">Log in<" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "words"), [
    ("fr", ["Le répertoire des points focaux pour la lutte contre le terrorisme", "Se connecter"]),
    ("ar", ["دليل جهات الاتصال المعنية بمكافحة الإرهاب", "تسجيل الدخول"]),
])
def test_home_page_in_the_browser_language(client, language, words):
    html = client.get(reverse("contacts:home"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for word in words:
        assert word in html
    assert "The directory of counter-terrorism focal points" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "menu_words"), [
    ("fr", ["Organisations", "Points focaux", "Mes organisations", "Se déconnecter", "Changer le mot de passe"]),
    ("ar", ["المنظمات", "جهات الاتصال", "منظماتي", "تسجيل الخروج", "تغيير كلمة المرور"]),
])
def test_organization_list_for_a_liaison(client, liaison, organization, language, menu_words):
    client.login(username=liaison.username, password=PASSWORD)
    html = client.get(reverse("contacts:organization_list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    menu = _menu(html)
    for word in menu_words:
        assert word in menu
    for word in ENGLISH_MENU_WORDS:
        assert word not in menu, f"English {word!r} left in the {language} menu"
    assert organization.acronym in html  # the data itself is not translated


@pytest.mark.django_db
def test_the_language_switcher_choice_wins_over_the_browser(client):
    response = client.post(reverse("set_language"), {"language": "fr", "next": reverse("login")})
    assert response.status_code == 302
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert '<html lang="fr" dir="ltr">' in html and "Se connecter" in html


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_the_language_switcher_names_each_language_in_itself(client, language):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    switcher = html[html.index('id="language-switcher-select"'):]
    options = re.findall(r"<option [^>]*>([^<]*)</option>", switcher[:switcher.index("</select>")])
    assert options == ["English", "Français", "العربية"]


@pytest.mark.django_db
def test_arabic_pages_are_right_to_left(client, liaison):
    for path in (reverse("login"), reverse("contacts:home")):
        html = client.get(path, HTTP_ACCEPT_LANGUAGE="ar").content.decode()
        assert '<html lang="ar" dir="rtl">' in html
        assert "bootstrap.rtl.min.css" in html and "bootstrap.min.css" not in html
    client.login(username=liaison.username, password=PASSWORD)
    html = client.get(reverse("contacts:organization_list"), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert '<html lang="ar" dir="rtl">' in html and "bootstrap.rtl.min.css" in html
    french = client.get(reverse("contacts:organization_list"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="fr" dir="ltr">' in french and "bootstrap.rtl.min.css" not in french


# --- (c) emails -----------------------------------------------------------------------------------


def _small_edition() -> Edition:
    snapshot = {"organizations": [{
        "id": 1, "acronym": "ASEAN", "name": "Association of Southeast Asian Nations",
        "focal_points": [{"id": 7, "full_name": "Dewi O'Brien", "title": "Director", "email": "dewi@example.org"}],
    }]}
    changes = {"is_first": False, "added": [{"organization": "ASEAN", "full_name": "Dewi O'Brien", "title": "",
                                             "email": "dewi@example.org"}], "changed": [], "removed": []}
    return Edition(number=3, snapshot=snapshot, changes=changes, created_at=timezone.now(),
                   pdf="editions/ctc-contact-list-edition-3.pdf")


@pytest.mark.parametrize(("language", "subject", "words"), [
    ("fr", "Liste des contacts du CCT — édition 3",
     ["Le PDF ci-joint est l’édition 3", "Nouveaux points focaux", "Se désabonner", "Dewi O'Brien"]),
    ("ar", "قائمة جهات الاتصال للجنة مكافحة الإرهاب — الإصدار 3",
     ["الإصدار 3", "جهات اتصال جديدة", "إلغاء الاشتراك", "Dewi O'Brien"]),
])
def test_edition_email_in_each_language(language, subject, words):
    message = messages.in_language(language, messages.edition_message, _small_edition())
    assert message.subject == subject
    for word in words:
        assert word in message.text and word.replace("'", "&#x27;") in message.html
    for english in ("The attached PDF", "New focal points", "Unsubscribe", "You receive this"):
        assert english not in message.text and english not in message.html
    # Plain text stays unescaped (autoescape off), HTML is escaped.
    assert "Dewi O'Brien" in message.text and "Dewi O&#x27;Brien" in message.html
    direction = "rtl" if language == "ar" else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in message.html


def test_every_dispatch_carries_the_other_languages():
    versions = messages.other_languages(messages.edition_message, _small_edition())
    assert set(versions) == {"fr", "ar"}
    assert versions["fr"]["subject"] != versions["ar"]["subject"]
    assert messages.in_language("en", messages.edition_message, _small_edition()).subject == (
        "CTC contact list — edition 3"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "subject", "words"), [
    ("fr", "Veuillez confirmer\u00a0: Annonces de communiqués", ["Bonjour Amina,", "Confirmer mon adresse"]),
    ("ar", "يرجى التأكيد: إشعارات البيانات", ["Amina، تحية طيبة،", "تأكيد عنواني"]),
])
def test_confirmation_email_in_the_subscriber_language(django_capture_on_commit_callbacks, language, subject, words):
    # Requested while the page is read in English: the person's chosen language decides the email.
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        subscriptions.subscription_request(
            email="amina@example.org", mailing_list=MailingList.COMMUNIQUES, name="Amina", language=language,
        )
    [email] = mail.outbox
    assert email.subject == subject
    html = email.alternatives[0][0]
    for word in words:
        assert word in html
    assert "Hello" not in email.body and "Someone, hopefully you" not in email.body
    assert f'lang="{language}"' in html


@pytest.mark.django_db
def test_access_request_keeps_the_language_of_the_form(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("communiques:access_request"), {
            "email": "omar@example.org", "name": "Omar", "organization": "LAS", "reason": "Cooperation",
        }, HTTP_ACCEPT_LANGUAGE="ar")
    assert Subscriber.objects.get(email="omar@example.org").preferred_language == "ar"
    [email] = mail.outbox
    assert "قائمة جهات الاتصال المعمَّمة" in email.subject


@pytest.mark.django_db
def test_subscribe_form_offers_the_page_language(client):
    html = client.get(reverse("communiques:subscribe"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    field = html[html.index('id="id_language"'):]  # the form's field, not the footer's language switcher
    field = field[:field.index("</select>")]
    assert re.search(r'<option value="fr"[^>]*selected', field)
    assert not re.search(r'<option value="en"[^>]*selected', field)


# --- Other language-dependent output --------------------------------------------------------------


def test_circulated_pdf_is_always_in_the_default_language(monkeypatch):
    seen = []

    def render(template, context):
        seen.append(translation.get_language())
        return "<html><body></body></html>"

    monkeypatch.setattr(editions, "render_to_string", render)
    with translation.override("ar"):
        editions.render_pdf(number=1, snapshot={"organizations": []}, changes={"is_first": True})
    assert seen == [settings.LANGUAGE_CODE]


@pytest.mark.django_db
def test_default_schedules_are_named_in_the_page_language(client, secretariat):
    schedules.periodic_tasks_ensure()
    client.force_login(secretariat)
    html = client.get(reverse("communiques:schedule_list"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Diffuser la liste des contacts" in html
    assert schedules.CONTACT_LIST_SCHEDULE not in html  # stored in English, shown in French


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "11/29/2026 8:31 a.m."), ("fr", "29/11/2026 08:31"), ("ar", "29/11/2026 08:31"),
])
def test_short_dates_are_day_first_outside_english(language, expected):
    with translation.override(language):
        assert date_format(datetime(2026, 11, 29, 8, 31), "SHORT_DATETIME_FORMAT") == expected


def test_schedule_descriptions_follow_the_interface_language():
    crontab = CrontabSchedule(minute="0", hour="9", day_of_month="1", month_of_year="*", day_of_week="*",
                              timezone="America/New_York")
    with translation.override("fr"):
        assert schedules.describe(crontab) == "À 09:00, le 1 du mois (America/New_York)"
    with translation.override("en"):
        assert schedules.describe(crontab) == "At 09:00 AM, on day 1 of the month (America/New_York)"
