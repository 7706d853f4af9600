"""Schedules in words in French and Arabic (issue 7): cron-descriptor has no Arabic and names days
and months in English inside its French, so communiques/schedule_words.py says the shapes the
schedule form is used for; anything else is shown as the expression, never in another language."""

import re

import pytest
from django.urls import reverse
from django.utils import translation
from django_celery_beat.models import CrontabSchedule

from communiques import schedules
from communiques.circulation_forms import ScheduleForm

ISOLATED = re.compile("^\u2066[^\u2066\u2069]+\u2069$")


def crontab(expression: str, timezone: str = "America/New_York") -> CrontabSchedule:
    minute, hour, day_of_month, month_of_year, day_of_week = expression.split()
    return CrontabSchedule(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                           day_of_week=day_of_week, timezone=timezone)


def words(expression: str, language: str) -> str:
    with translation.override(language):
        return schedules.describe_words(crontab(expression))


SHAPES = [
    # expression, French, Arabic
    ("0 9 * * *", "À 09:00, tous les jours", "في الساعة 09:00، كل يوم"),
    ("30 8 * * *", "À 08:30, tous les jours", "في الساعة 08:30، كل يوم"),
    ("0 9 1 * *", "À 09:00, le 1 du mois", "في الساعة 09:00، في اليوم 1 من الشهر"),
    ("0 9 1,15 * *", "À 09:00, les 1 et 15 du mois", "في الساعة 09:00، في الأيام 1 و15 من الشهر"),
    ("0 9 1-7 * *", "À 09:00, du 1 au 7 du mois", "في الساعة 09:00، من اليوم 1 إلى اليوم 7 من الشهر"),
    ("0 9 * * 1", "À 09:00, le lundi", "في الساعة 09:00، يوم الاثنين"),
    ("0 9 * * 0", "À 09:00, le dimanche", "في الساعة 09:00، يوم الأحد"),
    ("0 9 * * 7", "À 09:00, le dimanche", "في الساعة 09:00، يوم الأحد"),
    ("0 9 * * 1-5", "À 09:00, du lundi au vendredi", "في الساعة 09:00، من الاثنين إلى الجمعة"),
    ("0 9 * * mon-fri", "À 09:00, du lundi au vendredi", "في الساعة 09:00، من الاثنين إلى الجمعة"),
    ("0 9 * * 1,3,5", "À 09:00, les lundi, mercredi et vendredi",
     "في الساعة 09:00، أيام الاثنين والأربعاء والجمعة"),
    ("0 9 * * 6,0", "À 09:00, les samedi et dimanche", "في الساعة 09:00، أيام السبت والأحد"),
    ("0 9 * * 0-6", "À 09:00, tous les jours", "في الساعة 09:00، كل يوم"),
    ("0 8,12,18 * * *", "À 08:00, 12:00 et 18:00, tous les jours", "في الساعة 08:00 و12:00 و18:00، كل يوم"),
    ("0,30 9 * * 1", "À 09:00 et 09:30, le lundi", "في الساعة 09:00 و09:30، يوم الاثنين"),
    ("0 9 1 1,4,7,10 *", "À 09:00, le 1 du mois, uniquement en janvier, avril, juillet et octobre",
     "في الساعة 09:00، في اليوم 1 من الشهر، في أشهر يناير وإبريل ويوليو وأكتوبر فقط"),
    ("0 9 * 3 *", "À 09:00, tous les jours, uniquement en mars", "في الساعة 09:00، كل يوم، في شهر مارس فقط"),
    ("0 9 1 1-6 *", "À 09:00, le 1 du mois, uniquement entre janvier et juin (inclus)",
     "في الساعة 09:00، في اليوم 1 من الشهر، من يناير إلى يونيو فقط"),
    ("*/15 * * * *", "Toutes les 15 minutes", "كل 15 دقيقة"),
    ("*/2 * * * *", "Toutes les 2 minutes", "كل دقيقتين"),
    ("* * * * *", "Toutes les minutes", "كل دقيقة"),
    ("0 * * * *", "Toutes les heures", "كل ساعة"),
    ("15 * * * *", "Toutes les heures, 15 minutes après l’heure pleine", "كل ساعة، بعد 15 دقيقة من بدايتها"),
    ("0 */2 * * *", "Toutes les 2 heures", "كل ساعتين"),
    ("0 */6 * * 1-5", "Toutes les 6 heures, du lundi au vendredi", "كل 6 ساعات، من الاثنين إلى الجمعة"),
    ("30 */6 * * *", "À 00:30, 06:30, 12:30 et 18:30, tous les jours",
     "في الساعة 00:30 و06:30 و12:30 و18:30، كل يوم"),
]


@pytest.mark.parametrize(("expression", "french", "arabic"), SHAPES)
def test_schedule_in_french_and_arabic(expression, french, arabic):
    assert words(expression, "fr") == french
    assert words(expression, "ar") == arabic


def test_english_is_still_cron_descriptors():
    assert words("0 9 1 * *", "en") == "At 09:00 AM, on day 1 of the month"
    assert words("0 9 * * 1-5", "en") == "At 09:00 AM, Monday through Friday"


def test_the_time_zone_follows_the_words():
    with translation.override("ar"):
        assert schedules.describe(crontab("0 9 1 * *", "Asia/Riyadh")) == (
            "في الساعة 09:00، في اليوم 1 من الشهر (Asia/Riyadh)"
        )


# Shapes the form accepts that the words do not cover.
UNCOVERED = ["0 9 L * *", "0 9 * * 5-1", "0 9 */2 * *", "0 9-17/2 * * *", "*/5 9 * * *", "0 0-23 * * *"]


@pytest.mark.parametrize("expression", UNCOVERED)
def test_arabic_shows_the_expression_rather_than_english(expression):
    described = words(expression, "ar")
    # Kept left to right inside Arabic text, or "0 9 1 * *" would read "* * 1 9 0".
    assert ISOLATED.match(described) and described.strip("\u2066\u2069") == expression


def test_french_falls_back_to_cron_descriptor_only_without_day_or_month_names():
    assert words("0 9 L * *", "fr") == "À 09:00, le dernier jour du mois"
    assert ISOLATED.match(words("0 9 * * 5-1", "fr"))  # cron-descriptor would say "de Friday à Monday"


def test_no_english_in_an_arabic_description_of_any_shape_the_form_accepts():
    """Every combination of common field values the form accepts: Arabic words, or the bare expression."""
    values = {
        "minute": ["0", "30", "*/15", "*", "0,30"], "hour": ["9", "*", "*/3", "8,17", "9-11"],
        "day_of_month": ["*", "1", "1,15", "1-10", "L"], "month_of_year": ["*", "6", "1,7", "3-5"],
        "day_of_week": ["*", "1", "1-5", "sat,sun"],
    }
    checked = 0
    for minute in values["minute"]:
        for hour in values["hour"]:
            for day_of_month in values["day_of_month"]:
                for month in values["month_of_year"]:
                    for day_of_week in values["day_of_week"]:
                        expression = f"{minute} {hour} {day_of_month} {month} {day_of_week}"
                        form = ScheduleForm({"expression": expression, "timezone": "UTC"})
                        if not form.is_valid():
                            continue
                        described = words(expression, "ar")
                        assert ISOLATED.match(described) or not re.search(r"[A-Za-z]", described), (
                            expression, described,
                        )
                        checked += 1
    assert checked > 500


@pytest.mark.django_db
def test_the_schedule_page_in_arabic_describes_the_default_schedules_in_arabic(client, secretariat):
    schedules.periodic_tasks_ensure()
    client.force_login(secretariat)
    html = client.get(reverse("communiques:schedule_list"), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert "في الساعة 09:00، في اليوم 1 من الشهر" in html  # the contact list, monthly
    assert "في الساعة 08:30، كل يوم" in html  # the secretariat's digest
    assert "At 09:00" not in html and "AM" not in html
