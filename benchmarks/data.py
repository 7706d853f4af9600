"""Generate a benchmark dataset of a named size, fast (bulk inserts), into the configured database.

    S: 60 organizations, 250 focal points, 1,000 subscribers
    L: 2,000 organizations, 20,000 focal points, 100,000 subscribers

Every person and address is invented (example.org, fictional phone ranges). Creates the users
`bench-secretariat` and `bench-liaison` (liaison of the first organization).
"""

import random
from dataclasses import dataclass

SIZES = {
    "S": {"organizations": 60, "focal_points": 250, "subscribers": 1_000},
    "L": {"organizations": 2_000, "focal_points": 20_000, "subscribers": 100_000},
}
GIVEN = ["Amina", "Bruno", "Chen", "Dmitri", "Élodie", "Farah", "Giorgos", "Hana", "Ísak", "Jun", "Kwame", "Leila",
         "Mateo", "Nadia", "Olu", "Priya", "Quentin", "Rania", "Søren", "Tomás", "Usha", "Vera", "Wen", "Yusuf",
         "Zofia", "محمد", "Анна", "李娜"]
FAMILY = ["Abdi", "Brandt", "Costa", "Dubois", "Eze", "Fischer", "García", "Haddad", "Ivanova", "Jensen", "Kato",
          "Lindqvist", "Mensah", "Novak", "Okafor", "Petrov", "Quispe", "Rossi", "Sato", "Tanaka", "Újvári", "Van Dijk",
          "Wójcik", "Xu", "Yilmaz", "Zayed", "العلي", "Смирнов", "王"]
REGIONS = ["global", "africa", "americas", "asia_pacific", "europe", "middle_east"]
KINDS = ["international", "regional", "subregional", "un_entity"]
COUNTRIES = ["US", "FR", "EG", "KE", "BR", "ID", "DE", "JP", "NG", "IN", "SA", "AR", "CA", "GB", "RU", "CN"]
BENCH_PASSWORD = "bench-password-not-secret-2026"


@dataclass
class Generated:
    organizations: int
    focal_points: int
    subscribers: int


def generate(size: str, *, seed: int = 2026) -> Generated:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from communiques.models import MailingList, Subscriber, Subscription
    from contacts import services
    from contacts.models import FocalPoint, Organization
    from ctc_portal.text import fold

    counts = SIZES[size]
    rng = random.Random(seed)
    user_model = get_user_model()
    with transaction.atomic():
        organizations = []
        for n in range(counts["organizations"]):
            name = f"{rng.choice(['Regional', 'Coastal', 'Continental', 'Northern', 'Southern'])} Security Forum {n}"
            acronym = f"RSF{n}"
            organizations.append(Organization(
                name=name, acronym=acronym, kind=KINDS[n % 4], region=REGIONS[n % 6],
                website=f"https://rsf{n}.example.org/", mandate="Coordinates counter-terrorism cooperation.",
                sort_name=fold(name)[:200], search_text=fold(f"{name} {acronym}"),
            ))
        Organization.objects.bulk_create(organizations, batch_size=2000)
        organizations = list(Organization.objects.order_by("pk"))
        focal_points = []
        for n in range(counts["focal_points"]):
            organization = organizations[n % len(organizations)]
            full_name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
            email = f"person{n}@example.org"
            country = rng.choice(COUNTRIES)
            focal_points.append(FocalPoint(
                organization=organization, full_name=full_name, title="Counter-terrorism adviser",
                role="primary" if n < len(organizations) else rng.choice(["alternate", "other"]),
                email=email, phone=f"+1202555{100 + n % 100:04d}", languages=["en", "fr"], city="Geneva",
                country=country, sort_name=fold(full_name)[:200], search_text=fold(f"{full_name} {email} {country}"),
            ))
        FocalPoint.objects.bulk_create(focal_points, batch_size=5000)
        now = timezone.now()
        Subscriber.objects.bulk_create(
            [Subscriber(email=f"reader{n:06d}@example.org") for n in range(counts["subscribers"])], batch_size=5000,
        )
        Subscription.objects.bulk_create(
            [Subscription(subscriber=s, mailing_list=MailingList.CONTACTS, state=Subscription.State.ACTIVE,
                          source=Subscription.Source.IMPORT, confirmed_at=now, approved_at=now)
             for s in Subscriber.objects.filter(email__startswith="reader").iterator()],
            batch_size=5000,
        )
        secretariat, _ = user_model.objects.get_or_create(
            username="bench-secretariat", defaults={"email": "bs@example.org"}
        )
        secretariat.set_password(BENCH_PASSWORD)
        secretariat.save()
        services.secretariat_grant(user=secretariat)
        liaison, _ = user_model.objects.get_or_create(username="bench-liaison", defaults={"email": "bl@example.org"})
        liaison.set_password(BENCH_PASSWORD)
        liaison.save()
        services.liaison_assign(actor=None, user=liaison, organization=organizations[0])
    return Generated(len(organizations), len(focal_points), counts["subscribers"])
