"""Editions in the reader's language: every recipient of one dispatch gets the email *and* the files
(PDF, CSV, XLSX) in their language; Arabic right to left."""

import csv
import io
import re
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from openpyxl import load_workbook
from pypdf import PdfReader

from communiques import circulation, delivery, editions
from communiques.messages import edition_message, in_language
from communiques.models import Edition
from contacts.models import FocalPoint
from tests.communiques.conftest import make_subscriber
from tests.factories import FocalPointFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

ARAB_LEAGUE = {
    "acronym": "LAS",
    "name": "League of Arab States",
    "translations": {
        "ar": {"name": "جامعة الدول العربية", "acronym": "الجامعة"},
        "fr": {"name": "Ligue des États arabes", "acronym": "LEA"},
    },
}


EGYPT = {"en": "Egypt", "fr": "Égypte", "ar": "مصر"}  # django-countries' names


def in_(language, text):
    """`text` (an English msgid) as the catalog of `language` has it; checked to be a translation."""
    with translation.override(language):
        translated = gettext(text)
    if language != "en":
        assert translated != text, f"no {language} translation of {text!r}: the test would prove nothing"
    return translated


def pdf_text(content: bytes) -> str:
    """The PDF's text in reading order, and its lines as laid out. pypdf's reading order loses parts of
    lines that mix Arabic and Latin text; its layout mode keeps every glyph, in visual order, so a
    right-to-left run reads backwards there: `in_pdf` looks for it both ways."""
    pages = PdfReader(io.BytesIO(content)).pages
    return "\n".join(
        [page.extract_text() for page in pages] + [page.extract_text(extraction_mode="layout") for page in pages]
    )


def in_pdf(text: str, extracted: str) -> bool:
    return text in extracted or text[::-1] in extracted


def pdf_language(content: bytes) -> str:
    return str(PdfReader(io.BytesIO(content)).trailer["/Root"]["/Lang"])


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the byte-order mark spreadsheet programs need
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_sheet(content: bytes):
    workbook = load_workbook(io.BytesIO(content))
    (sheet,) = workbook.worksheets
    return sheet


def attachments_of(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in message.walk() if part.get_filename()}


@pytest.fixture
def directory():
    organization = OrganizationFactory(**ARAB_LEAGUE)
    FocalPointFactory(
        organization=organization, full_name="Nour Haddad", role=FocalPoint.Role.PRIMARY, country="EG",
        city="Cairo", email="nour@example.org", phone="+12025550123",
    )
    return organization


def test_french_arabic_and_english_subscribers_get_files_in_their_language(smtp_settings, smtp_sink, directory):
    for address, language in [("fr@example.org", "fr"), ("ar@example.org", "ar"), ("en@example.org", "en")]:
        subscriber = make_subscriber(address)
        subscriber.preferred_language = language
        subscriber.save()

    translation.activate("fr")  # the secretariat's page language decides nothing
    try:
        result = circulation.contact_list_circulate(include_csv=True, include_xlsx=True)
    finally:
        translation.deactivate()
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)

    messages = {message["To"]: message for message in smtp_sink.messages}
    for address, language in [("fr@example.org", "fr"), ("ar@example.org", "ar"), ("en@example.org", "en")]:
        message = messages[address]
        subject = str(make_header(decode_header(message["Subject"])))
        assert subject == in_(language, "CTC contact list — edition %(number)s") % {"number": 1}
        files = attachments_of(message)
        assert sorted(files) == [f"ctc-contact-list-edition-1.{kind}" for kind in ("csv", "pdf", "xlsx")]

        header, row = csv_rows(files["ctc-contact-list-edition-1.csv"])
        assert header[:3] == [in_(language, "Organization"), in_(language, "Acronym"), in_(language, "Name")]
        assert header[-1] == in_(language, "Country")
        expected_name = ARAB_LEAGUE["translations"].get(language, {}).get("name", ARAB_LEAGUE["name"])
        assert row[0] == expected_name
        assert row[4] == in_(language, "Primary")
        assert row[-1] == EGYPT[language]

        sheet = xlsx_sheet(files["ctc-contact-list-edition-1.xlsx"])
        assert sheet.title == in_(language, "Focal points")
        assert [cell.value for cell in sheet[1]][:3] == header[:3]
        assert sheet[2][0].value == expected_name
        assert bool(sheet.sheet_view.rightToLeft) is (language == "ar")

        pdf = files["ctc-contact-list-edition-1.pdf"]
        assert pdf_language(pdf) == language
        text = pdf_text(pdf)
        assert in_pdf(expected_name, text)
        for heading in ("Email", "Changes since the previous edition"):
            assert in_pdf(in_(language, heading), text), (language, heading)
        if language != "en":
            assert "Changes since the previous edition" not in text
            assert "League of Arab States" not in text


def test_country_and_role_names_follow_the_language(directory):
    snapshot = editions.snapshot_build()
    (org,) = snapshot["organizations"]
    assert org["translations"] == ARAB_LEAGUE["translations"]
    (fp,) = org["focal_points"]
    assert (fp["country"], fp["role"]) == ("EG", "primary")  # the snapshot keeps codes
    rows = {language: csv_rows(editions.render_csv(snapshot, language=language))[1] for language in ("en", "fr", "ar")}
    assert (rows["en"][1], rows["en"][4], rows["en"][-1]) == ("LAS", "Primary", EGYPT["en"])
    assert (rows["fr"][1], rows["fr"][4], rows["fr"][-1]) == ("LEA", in_("fr", "Primary"), EGYPT["fr"])
    assert (rows["ar"][1], rows["ar"][4], rows["ar"][-1]) == ("الجامعة", in_("ar", "Primary"), EGYPT["ar"])
    # Spoken languages by name, in the reader's language.
    assert rows["fr"][8] == f"{in_('fr', 'English')}, {in_('fr', 'French')}"


def test_arabic_pdf_is_right_to_left_with_arabic_glyphs(directory):
    from tests.communiques.test_editions import _pdf_fonts_and_characters

    snapshot = editions.snapshot_build()
    pdf = editions.render_pdf(number=4, snapshot=snapshot, changes=editions.snapshot_diff(None, snapshot),
                              language="ar")
    fonts, characters = _pdf_fonts_and_characters(pdf)
    assert all(font.startswith("DejaVu") for font in fonts), fonts
    for text in (in_("ar", "Changes since the previous edition"), "جامعة الدول العربية", in_("ar", "Email")):
        missing = set(text.replace(" ", "")) - characters
        assert not missing, f"{text}: no glyph for {missing}"
    assert pdf_language(pdf) == "ar"
    # Phone numbers and addresses keep reading left to right inside the right-to-left table.
    laid_out = "".join(page.extract_text(extraction_mode="layout") for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "+1 202-555-0123" in laid_out and "nour@example.org" in laid_out
    first = {"number": 4, "snapshot": snapshot, "changes": editions.snapshot_diff(None, snapshot)}
    assert '<html lang="ar" dir="rtl">' in editions.pdf_html(**first, language="ar")
    assert '<html lang="fr" dir="ltr">' in editions.pdf_html(**first, language="fr")


def test_edition_stores_its_files_in_every_language(media_root, directory):
    edition = editions.edition_create()
    assert set(edition.translated_files) == {code for code, _name in settings.LANGUAGES} - {settings.LANGUAGE_CODE}
    edition.refresh_from_db()
    for language in ("fr", "ar"):
        for kind in ("pdf", "csv", "xlsx"):
            stored = edition.file_in(kind, language)
            assert stored.name == edition.translated_files[language][kind]
            assert stored.name.endswith(f"-{language}.{kind}")
            with stored.open("rb") as handle:
                assert handle.read(2)
    with edition.file_in("csv", "fr").open("rb") as handle:
        assert csv_rows(handle.read())[0][0] == in_("fr", "Organization")
    # The default language's files are where they always were.
    assert edition.file_in("pdf", "en") == edition.pdf
    with edition.csv.open("rb") as handle:
        assert csv_rows(handle.read())[0][0] == "Organization"


def test_an_edition_from_before_per_language_files_still_circulates(smtp_settings, smtp_sink, directory):
    edition = editions.edition_create()
    Edition.objects.filter(pk=edition.pk).update(translated_files={})  # as migrated from before
    edition.refresh_from_db()
    assert edition.file_in("pdf", "ar") == edition.pdf
    reader = make_subscriber("ar@example.org")
    reader.preferred_language = "ar"
    reader.save()
    message = in_language(settings.LANGUAGE_CODE, edition_message, edition)
    dispatch = delivery.dispatch_create(
        kind="edition", mailing_list="contacts", subject=message.subject, body_text=message.text,
        body_html=message.html, recipients=reader.subscriptions.all(), edition=edition, include_csv=True,
    )
    delivery.dispatch_process(dispatch_id=dispatch.pk)
    (sent,) = smtp_sink.messages
    files = attachments_of(sent)
    assert csv_rows(files["ctc-contact-list-edition-1.csv"])[0][0] == "Organization"
    assert pdf_language(files["ctc-contact-list-edition-1.pdf"]) == "en"


def _an_edition_with_changes():
    organization = OrganizationFactory(**ARAB_LEAGUE)
    person = FocalPointFactory(organization=organization, full_name="Ben Changes", title="Adviser",
                               email="ben@example.org", phone="+12025550177")
    editions.edition_create()
    person.title = "Head of unit"
    person.phone = "+12025550188"
    person.save()
    return editions.edition_create()


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_changes_name_fields_by_their_translated_name(media_root, language):
    edition = _an_edition_with_changes()
    assert {f["field"] for f in edition.changes["changed"][0]["fields"]} == {"title", "phone"}
    message = in_language(language, edition_message, edition)
    with translation.override(language):
        labels = [str(FocalPoint._meta.get_field(code).verbose_name) for code in ("title", "phone")]
    for body in (message.text, message.html):
        assert "title, phone" not in body and "phone, title" not in body
        line = next(line for line in body.splitlines() if "Ben Changes" in line)
        assert all(label in line for label in labels), (line, labels)
    if language != "en":
        assert labels != ["title or position", "office phone"]
    # The organization goes by its acronym in the reader's language.
    expected = ARAB_LEAGUE["translations"].get(language, {}).get("acronym", "LAS")
    assert expected in next(line for line in message.text.splitlines() if "Ben Changes" in line)
    # And so in the PDF of that language.
    with edition.file_in("pdf", language).open("rb") as handle:
        text = pdf_text(handle.read())
    assert in_pdf(labels[0], text) and in_pdf(labels[1], text)


ONE_SIDED = re.compile(r"\b(?:left|right)\b", re.IGNORECASE)
EMAIL_TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "templates" / "communiques" / "email").glob("*.html"))


@pytest.mark.parametrize("template", EMAIL_TEMPLATES, ids=lambda path: path.name)
def test_email_styles_are_the_same_in_both_directions(template):
    """No padding-left, text-align:right, border-left …: they would sit on the wrong side in Arabic."""
    source = template.read_text()
    for style in re.findall(r'style="([^"]*)"', source):
        assert not ONE_SIDED.search(style), f"{template.name}: {style}"
    assert not re.search(r'\balign="(?:left|right)"', source), template.name


def test_arabic_email_is_right_to_left(media_root):
    edition = _an_edition_with_changes()
    with translation.override("ar"):
        html = edition_message(edition).html
    assert '<html lang="ar" dir="rtl">' in html
    assert re.findall(r'style="([^"]*)"', html), "the email has inline styles: the test above must see them"
    with translation.override("en"):
        assert '<html lang="en" dir="ltr">' in edition_message(edition).html


def test_a_list_too_long_for_a_pdf_goes_out_as_a_spreadsheet(smtp_settings, smtp_sink, settings, directory):
    FocalPointFactory(organization=directory, full_name="Second Person")
    settings.EDITION_PDF_MAX_FOCAL_POINTS = 1
    for address, language in [("fr@example.org", "fr"), ("en@example.org", "en")]:
        subscriber = make_subscriber(address)
        subscriber.preferred_language = language
        subscriber.save()
    result = circulation.contact_list_circulate()  # neither CSV nor XLSX asked for
    edition = result.dispatch.edition
    assert not edition.pdf and edition.xlsx and edition.csv
    assert "pdf" not in edition.translated_files["fr"]
    delivery.dispatch_process(dispatch_id=result.dispatch.pk)

    messages = {message["To"]: message for message in smtp_sink.messages}
    for address, language in [("fr@example.org", "fr"), ("en@example.org", "en")]:
        files = attachments_of(messages[address])
        assert sorted(files) == ["ctc-contact-list-edition-1.xlsx"]  # the spreadsheet instead
        sheet = xlsx_sheet(files["ctc-contact-list-edition-1.xlsx"])
        assert sheet.title == in_(language, "Focal points") and sheet.max_row == 3
        plain = next(part for part in messages[address].walk() if part.get_content_type() == "text/plain")
        body = plain.get_payload(decode=True).decode()
        assert "(XLSX)" in body and "PDF" in body  # "the attached spreadsheet (XLSX) … too long for a PDF"
        assert ("too long for a PDF" in body) is (language == "en")

    settings.EDITION_PDF_MAX_FOCAL_POINTS = 2  # at the limit: a PDF again
    assert circulation.contact_list_circulate().dispatch.edition.pdf
