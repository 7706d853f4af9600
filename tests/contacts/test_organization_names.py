"""Organization names in the six UN languages: recorded, shown in the reader's language, searchable."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from contacts import services
from contacts.models import Organization
from ctc_portal.text import fold
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LAS_NAMES = {"ar": {"name": "جامعة الدول العربية", "acronym": "ج.د.ع"}, "fr": {"name": "Ligue des États arabes",
                                                                        "acronym": "LEA"}}


def test_name_in_the_readers_language_or_english(organization):
    organization.translations = LAS_NAMES
    organization.save()
    with translation.override("fr"):
        assert organization.local_name == "Ligue des États arabes" and str(organization).endswith("(LEA)")
    with translation.override("ar"):
        assert organization.local_name == "جامعة الدول العربية"
    with translation.override("en"):
        assert organization.local_name == organization.name
    assert organization.name_in("ru") == organization.name  # not recorded: English


def test_search_text_holds_every_name(organization):
    organization.translations = LAS_NAMES
    organization.save()
    for query in ("ligue des etats", "جامعة الدول", "lea"):
        assert Organization.objects.filter(search_text__contains=fold(query)).exists(), query


def test_only_un_languages_are_accepted(secretariat, organization):
    with pytest.raises(ValidationError) as error:
        services.organization_update(user=secretariat, organization=organization,
                                     data={"translations": {"de": {"name": "Liga"}}}, version=organization.version)
    assert "translations" in error.value.message_dict


def test_liaison_records_names_through_the_form(client, liaison, organization):
    client.login(username=liaison.username, password=PASSWORD)
    url = reverse("contacts:organization_update", kwargs={"pk": organization.pk})
    form = client.get(url).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(name_fr="Association des nations de l'Asie du Sud-Est", acronym_fr="ANASE", name_zh="东南亚国家联盟")
    response = client.post(url, data)
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.translations == {
        "zh": {"name": "东南亚国家联盟"}, "fr": {"name": "Association des nations de l'Asie du Sud-Est",
                                          "acronym": "ANASE"},
    }
    french_page = client.get(reverse("contacts:organization_list"), {"q": "anase"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert "Association des nations de l&#x27;Asie du Sud-Est" in french_page.content.decode()
