"""Schedules in words, in the interface language, for the shapes the schedule form is used for.

cron-descriptor (communiques/schedules.py uses it for English) has no Arabic, and its French names
days and months in English (it takes them from the server process's locale). This module says the
common shapes itself through the translation catalogs, with Django's own weekday and month names:

- the time: "at 09:00" (one or a few times a day, up to MAX_TIMES), "every hour", "every hour,
  15 minutes past the hour", "every 15 minutes", "every 2 hours", "every minute";
- the days: every day; days of the month ("on day 1 of the month", "on days 1 and 15 of the month",
  "from day 1 to day 7 of the month");
  days of the week ("on Monday", "on Monday, Wednesday and Friday", "from Monday to Friday");
- the months: "only in January, April, July and October", "only from January to June".

Anything else (steps in the day fields, L, W, #, a range that wraps such as 5-1, both day fields
restricted) gives None: the caller shows the expression itself rather than guess.
"""

from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext, pgettext

# More times a day than this are not listed one by one.
MAX_TIMES = 12


# Names Celery accepts in place of numbers.
WEEKDAY_NUMBERS = {name: number for number, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
MONTH_NUMBERS = {
    name: number for number, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1,
    )
}


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None):
    """Read one cron field: ("any",), ("step", n) for */n, ("values", sorted values), or None."""
    text = text.strip().lower()
    for name, number in (names or {}).items():
        text = text.replace(name, str(number))
    if text == "*":
        return ("any",)
    if text.startswith("*/"):
        step = text[2:]
        if not step.isdigit() or int(step) < 1:
            return None
        return ("any",) if int(step) == 1 else ("step", int(step))
    values = set()
    for item in text.split(","):
        first, _dash, last = item.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            return None
        start, end = int(first), int(last) if last else int(first)
        if not (low <= start <= end <= high):
            return None
        values.update(range(start, end + 1))
    return ("values", sorted(values))


def _join(items: list[str]) -> str:
    """"a", "a and b", "a, b and c" in the interface language."""
    if len(items) == 1:
        return items[0]
    return pgettext("list", "%(items)s and %(last)s") % {
        "items": pgettext("list", ", ").join(items[:-1]), "last": items[-1],
    }


def _is_run(values: list[int]) -> bool:
    """Return whether the values are three or more consecutive numbers (said "from … to …")."""
    return len(values) >= 3 and values == list(range(values[0], values[0] + len(values)))


def _time_part(minute, hour) -> tuple[str, bool] | None:
    """Return the time of day in words, and whether it names clock times (then days are said too)."""
    if minute[0] == "any":
        return (gettext("every minute"), False) if hour[0] == "any" else None
    if minute[0] == "step":
        if hour[0] != "any":
            return None
        return ngettext("every %(count)d minute", "every %(count)d minutes", minute[1]) % {"count": minute[1]}, False
    minutes = minute[1]
    if hour[0] == "any" and len(minutes) == 1:
        if minutes[0] == 0:
            return gettext("every hour"), False
        return ngettext(
            "every hour, %(minute)d minute past the hour", "every hour, %(minute)d minutes past the hour", minutes[0],
        ) % {"minute": minutes[0]}, False
    if hour[0] == "step" and minutes == [0]:
        return ngettext("every %(count)d hour", "every %(count)d hours", hour[1]) % {"count": hour[1]}, False
    if hour[0] == "any":
        return None
    hours = hour[1] if hour[0] == "values" else list(range(0, 24, hour[1]))
    times = [f"{h:02d}:{m:02d}" for h in hours for m in minutes]
    if len(times) > MAX_TIMES:
        return None
    return gettext("at %(times)s") % {"times": _join(times)}, True


def _weekday_name(cron_day: int) -> str:
    # Cron counts from Sunday (0, or 7); Django's WEEKDAYS from Monday (0).
    return str(WEEKDAYS[(cron_day + 6) % 7])


def _day_part(day_of_month, day_of_week, *, clock_times: bool) -> str | None:
    if day_of_month[0] == "step" or day_of_week[0] == "step":
        return None
    if day_of_week[0] == "values":
        # 7 is Sunday too; list from Monday to Sunday, as Django's calendar does.
        days = sorted({day % 7 for day in day_of_week[1]}, key=lambda day: (day + 6) % 7)
        if len(days) == 7:
            day_of_week = ("any",)
    if day_of_month[0] == "values" and day_of_week[0] == "values":
        return None  # cron and Celery read that differently; the form refuses it
    if day_of_month[0] == "values":
        days_of_month = day_of_month[1]
        if len(days_of_month) == 1:
            return gettext("on day %(day)s of the month") % {"day": days_of_month[0]}
        if _is_run(days_of_month):
            return gettext("from day %(first)s to day %(last)s of the month") % {
                "first": days_of_month[0], "last": days_of_month[-1],
            }
        return gettext("on days %(days)s of the month") % {"days": _join([str(day) for day in days_of_month])}
    if day_of_week[0] == "values":
        if _is_run([(day + 6) % 7 for day in days]):  # counted from Monday: Friday to Sunday is a run
            return pgettext("weekdays", "from %(first)s to %(last)s") % {
                "first": _weekday_name(days[0]), "last": _weekday_name(days[-1]),
            }
        names = [_weekday_name(day) for day in days]
        if len(names) == 1:
            return gettext("on %(weekday)s") % {"weekday": names[0]}
        return gettext("on %(weekdays)s") % {"weekdays": _join(names)}
    return gettext("every day") if clock_times else ""


def _month_part(month) -> str | None:
    if month[0] == "step":
        return None
    if month[0] == "any" or len(month[1]) == 12:
        return ""
    names = [str(MONTHS[number]) for number in month[1]]
    if len(names) == 1:
        return gettext("only in %(month)s") % {"month": names[0]}
    if _is_run(month[1]):
        return gettext("only from %(first)s to %(last)s") % {"first": names[0], "last": names[-1]}
    return gettext("only in %(months)s") % {"months": _join(names)}


def schedule_in_words(*, minute: str, hour: str, day_of_month: str, month_of_year: str, day_of_week: str) -> str | None:
    """Say the five cron fields in the interface language, or return None for a shape not covered.

    E.g. "0 9 * * 1-5" in French: "À 09:00, du lundi au vendredi"; in Arabic:
    "في الساعة 09:00، من الاثنين إلى الجمعة".
    """
    fields = (
        _field(minute, 0, 59), _field(hour, 0, 23), _field(day_of_month, 1, 31),
        _field(month_of_year, 1, 12, MONTH_NUMBERS), _field(day_of_week, 0, 7, WEEKDAY_NUMBERS),
    )
    if None in fields:
        return None
    minute_f, hour_f, day_of_month_f, month_f, day_of_week_f = fields
    time = _time_part(minute_f, hour_f)
    if time is None:
        return None
    time_words, clock_times = time
    days = _day_part(day_of_month_f, day_of_week_f, clock_times=clock_times)
    months = _month_part(month_f)
    if days is None or months is None:
        return None
    parts = [part for part in (time_words, days, months) if part]
    return capfirst(pgettext("schedule", ", ").join(parts))
