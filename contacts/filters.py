"""Search, filters and sorting of the directory lists.

The filter sets narrow querysets that the selectors already restricted through the gate; they never
widen them. Search compares folded text (accents and case removed, see `ctc_portal.text.fold`) with
the `search_text` columns the models keep, so "Organisation des Etats" finds "Organisation des États".
"""

from functools import lru_cache

import django_filters as filters
from django import forms
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.functions import Lower
from django.utils.text import format_lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from ctc_portal.text import fold

from .models import FocalPoint, Organization
from .selectors import focal_point_role_rank

MAX_SEARCH_TERMS = 8
ACTIVE_CHOICES = [("yes", _("Active")), ("no", _("Inactive")), ("all", _("Active and inactive"))]


def countries_matching(term: str) -> list[str]:
    """Return the codes of countries whose name, in the active language, contains the folded term."""
    return [code for code, name in countries if term in fold(str(name))]


@lru_cache(maxsize=16)
def _country_codes_by_name(language: str) -> tuple[str, ...]:
    return tuple(country.code for country in sorted(countries, key=lambda country: fold(str(country.name))))


def country_name_order(field: str):
    """Return an expression sorting country codes by country name in the active language, blanks last.

    Built only when a list is sorted by country: it has a branch per country (about 250).
    """
    ordered = _country_codes_by_name(get_language() or "en")
    return Case(
        *[When(**{field: code}, then=Value(rank)) for rank, code in enumerate(ordered)],
        default=Value(len(ordered)),
        output_field=IntegerField(),
    )


def search_terms(value: str) -> list[str]:
    return fold(value).split()[:MAX_SEARCH_TERMS]


def search(queryset, value: str, *, fields, country_field: str | None = None):
    """Keep the rows where every word of `value` is in one of the folded `fields`, or names the
    row's country (in the active language). Used by the pages and the API alike."""
    for term in search_terms(value):
        condition = Q()
        for field in fields:
            condition |= Q(**{f"{field}__contains": term})
        if country_field and (codes := countries_matching(term)):
            condition |= Q(**{f"{country_field}__in": codes})
        queryset = queryset.filter(condition)
    return queryset


# What "active" means in lists: a focal point is on the circulated list when it and its
# organization are both active.
ORGANIZATION_ACTIVE = Q(is_active=True)
FOCAL_POINT_ACTIVE = Q(is_active=True, organization__is_active=True)


class DirectoryFilterSet(filters.FilterSet):
    """Common behaviour: defaults for status and sort, free-text search, stable sorting.

    Subclasses set `search_fields` (folded text columns), `country_field` (or None), `sort_fields`
    (key → expression) and the `active` rule.
    """

    defaults = {"active": "yes", "sort": "name"}
    search_fields: tuple[str, ...] = ()
    country_field: str | None = None
    sort_fields: dict = {}

    q = filters.CharFilter(
        method="filter_search", label=_("Search"), max_length=200,
        widget=forms.TextInput(attrs={"type": "search"}),
        help_text=_("Name, acronym, email or country; accents and capitals do not matter."),
    )

    def __init__(self, data=None, *args, **kwargs):
        # Always bound, so the defaults apply to a bare URL as well.
        data = data.copy() if data is not None else {}
        for name, value in self.defaults.items():
            if not data.get(name):
                data[name] = value
        super().__init__(data, *args, **kwargs)

    @classmethod
    def sort_choices(cls, labels):
        choices = []
        for key, label in labels:
            choices.append((key, format_lazy("{} ({})", label, _("ascending"))))
            choices.append((f"-{key}", format_lazy("{} ({})", label, _("descending"))))
        return choices

    def filter_search(self, queryset, name, value):
        return search(queryset, value, fields=self.search_fields, country_field=self.country_field)

    def filter_sort(self, queryset, name, value):
        descending = value.startswith("-")
        expression = self.sort_fields[value.lstrip("-")]
        if callable(expression):
            expression = expression()
        if isinstance(expression, str):
            expression = F(expression)
        expression = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
        # Ties broken by name then id, so pages never repeat or skip a row.
        return queryset.order_by(expression, "sort_name", "pk")

    def filter_active(self, queryset, name, value):
        if value == "yes":
            return queryset.filter(self.active_condition)
        if value == "no":
            return queryset.exclude(self.active_condition)
        return queryset


class OrganizationFilter(DirectoryFilterSet):
    search_fields = ("search_text",)
    sort_fields = {
        "name": "sort_name",
        "acronym": Lower("acronym"),
        "kind": "kind",
        "region": "region",
        "focal_points": "active_focal_point_count",
        "verified": "last_verified_at",
    }

    kind = filters.ChoiceFilter(choices=Organization.Kind.choices, empty_label=_("Any kind"), label=_("Kind"))
    region = filters.ChoiceFilter(
        choices=Organization.Region.choices, empty_label=_("Any region"), label=_("Region"),
    )
    active = filters.ChoiceFilter(
        method="filter_active", choices=ACTIVE_CHOICES, empty_label=None, label=_("Status"),
    )
    sort = filters.ChoiceFilter(
        method="filter_sort", empty_label=None, label=_("Sort by"),
        choices=DirectoryFilterSet.sort_choices([
            ("name", _("Name")), ("acronym", _("Acronym")), ("kind", _("Kind")), ("region", _("Region")),
            ("focal_points", _("Focal points")), ("verified", _("Last verified")),
        ]),
    )

    class Meta:
        model = Organization
        fields = ["q", "kind", "region", "active", "sort"]

    active_condition = ORGANIZATION_ACTIVE


class FocalPointFilter(DirectoryFilterSet):
    """Focal points. "Active" means on the circulated list: the person and the organization are active."""

    search_fields = ("search_text", "organization__search_text")
    country_field = "country"
    sort_fields = {
        "name": "sort_name",
        "organization": "organization__sort_name",
        "acronym": Lower("organization__acronym"),
        "role": focal_point_role_rank(),
        "email": Lower("email"),
        "country": lambda: country_name_order("country"),  # by name, in the active language
    }

    kind = filters.ChoiceFilter(
        field_name="organization__kind", choices=Organization.Kind.choices,
        empty_label=_("Any kind"), label=_("Organization kind"),
    )
    region = filters.ChoiceFilter(
        field_name="organization__region", choices=Organization.Region.choices,
        empty_label=_("Any region"), label=_("Region"),
    )
    role = filters.ChoiceFilter(choices=FocalPoint.Role.choices, empty_label=_("Any role"), label=_("Role"))
    active = filters.ChoiceFilter(
        method="filter_active", choices=ACTIVE_CHOICES, empty_label=None, label=_("Status"),
    )
    sort = filters.ChoiceFilter(
        method="filter_sort", empty_label=None, label=_("Sort by"),
        choices=DirectoryFilterSet.sort_choices([
            ("name", _("Name")), ("organization", _("Organization")), ("acronym", _("Acronym")),
            ("role", _("Role")), ("email", _("Email")), ("country", _("Country")),
        ]),
    )

    class Meta:
        model = FocalPoint
        fields = ["q", "kind", "region", "role", "active", "sort"]

    active_condition = FOCAL_POINT_ACTIVE
