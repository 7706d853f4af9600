import factory
from django.contrib.auth import get_user_model

from contacts import services
from contacts.models import FocalPoint, Organization


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct-horse-battery-42")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Regional Organization {n}")
    acronym = factory.Sequence(lambda n: f"RO{n}")
    kind = Organization.Kind.REGIONAL
    region = Organization.Region.AFRICA
    website = factory.LazyAttribute(lambda o: f"https://{o.acronym.lower()}.example.org/")
    mandate = "Coordinates counter-terrorism cooperation among its member states."


class FocalPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FocalPoint

    organization = factory.SubFactory(OrganizationFactory)
    full_name = factory.Sequence(lambda n: f"Focal Person {n}")
    title = "Counter-terrorism adviser"
    role = FocalPoint.Role.OTHER
    email = factory.Sequence(lambda n: f"focal{n}@example.org")
    # +1 202 555 01xx is reserved for fiction.
    phone = factory.Sequence(lambda n: f"+1202555{100 + n % 100:04d}")
    languages = factory.LazyFunction(lambda: ["en", "fr"])
    city = "New York"
    country = "US"


def make_secretariat(**kwargs):
    user = UserFactory(**kwargs)
    services.secretariat_grant(user=user)
    return user


def make_liaison(*organizations, **kwargs):
    user = UserFactory(**kwargs)
    for organization in organizations:
        services.liaison_assign(actor=None, user=user, organization=organization)
    return user
