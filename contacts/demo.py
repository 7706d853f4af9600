"""The demo dataset: organizations, invented focal points and demo accounts, and the loader.

Only the CTC's own secretariat and the organizations named at the Committee's special meeting are
real; every other organization and every person is invented. Emails end in example.org and phone
numbers lie in ranges the numbering authorities reserve for fiction (NANP 555-0100..0199, Ofcom's
drama numbers, ARCEP's 01 99 00, ACMA's 5550/7010 ranges), so nothing here reaches a real inbox or
phone. People are drawn from generators seeded per organization, so every run yields the same ones.
"""

import random
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from ctc_portal import gate

from . import selectors, services
from .models import FocalPoint, Organization

HISTORY_REASON = "demo data"
# One passphrase for every demo account: it passes the configured validators, and it is printed on
# purpose. The loader refuses production settings (see the load_demo_data command).
DEMO_PASSWORD = "ctc-demo-passphrase"

K = Organization.Kind
R = Organization.Region


@dataclass(frozen=True)
class OrganizationSpec:
    acronym: str
    name: str
    kind: str
    region: str
    city: str
    country: str
    website: str = ""
    mandate: str = ""


@dataclass(frozen=True)
class UserSpec:
    username: str
    first_name: str
    last_name: str
    role: str  # "superuser", "secretariat" or "liaison"
    organizations: tuple[str, ...] = ()

    @property
    def email(self) -> str:
        return f"{self.username}@example.org"


SECRETARIAT_ACRONYM = "CTED"

# The secretariat itself and the organizations named at the special meeting (real names, invented people).
REAL_ORGANIZATIONS = [
    OrganizationSpec(
        "CTED", "Counter-Terrorism Committee Executive Directorate", K.UN_ENTITY, R.GLOBAL, "New York", "US",
        "https://www.un.org/securitycouncil/ctc/",
        "Secretariat of the Security Council Counter-Terrorism Committee; keeps this directory.",
    ),
    OrganizationSpec(
        "ASEAN", "Association of Southeast Asian Nations", K.REGIONAL, R.ASIA_PACIFIC, "Jakarta", "ID",
        "https://asean.org/", "Regional cooperation among Southeast Asian states, including on transnational crime.",
    ),
    OrganizationSpec(
        "LAS", "League of Arab States", K.REGIONAL, R.MIDDLE_EAST, "Cairo", "EG",
        "https://www.leagueofarabstates.net/",
        "Regional organization of Arab states; coordinates security cooperation.",
    ),
    OrganizationSpec(
        "EU", "European Union", K.REGIONAL, R.EUROPE, "Brussels", "BE",
        "https://european-union.europa.eu/", "Political and economic union; coordinates counter-terrorism policy.",
    ),
    OrganizationSpec(
        "OAS", "Organization of American States", K.REGIONAL, R.AMERICAS, "Washington", "US",
        "https://www.oas.org/", "Regional organization of the Americas; hosts inter-American security committees.",
    ),
    OrganizationSpec(
        "OIC", "Organization of the Islamic Conference", K.INTERNATIONAL, R.GLOBAL, "Jeddah", "SA",
        "https://www.oic-oci.org/", "Intergovernmental organization of states from four continents.",
    ),
    OrganizationSpec(
        "NATO", "North Atlantic Treaty Organization", K.REGIONAL, R.EUROPE, "Brussels", "BE",
        "https://www.nato.int/", "Euro-Atlantic security alliance.",
    ),
    OrganizationSpec(
        "INTERPOL", "International Criminal Police Organization", K.INTERNATIONAL, R.GLOBAL, "Lyon", "FR",
        "https://www.interpol.int/", "International police cooperation, notices and databases.",
    ),
]

# Invented organizations: plausible, but none of them exists.
_INVENTED = [
    # acronym, name, kind, region, city, country, mandate
    ("CSSF", "Coastal States Security Forum", K.INTERNATIONAL, R.GLOBAL, "Valletta", "MT",
     "Dialogue among coastal states on port and maritime security."),
    ("IAFIT", "International Association of Financial Intelligence Trainers", K.INTERNATIONAL, R.GLOBAL,
     "Vienna", "AT", "Trains analysts who trace the financing of terrorism."),
    ("GNASS", "Global Network for Aviation Screening Standards", K.INTERNATIONAL, R.GLOBAL, "Montreal", "CA",
     "Shares screening practice among civil aviation authorities."),
    ("ICPAT", "International Council of Prosecutors Against Terrorism", K.INTERNATIONAL, R.GLOBAL,
     "The Hague", "NL", "Networks prosecutors handling terrorism cases."),
    ("WFVT", "World Forum on Victims of Terrorism", K.INTERNATIONAL, R.GLOBAL, "Madrid", "ES",
     "Promotes support and remembrance for victims of terrorism."),
    ("IMTIN", "International Maritime Threat Information Network", K.INTERNATIONAL, R.GLOBAL, "Singapore", "SG",
     "Exchanges maritime threat reports among navies and coast guards."),
    ("GABA", "Global Alliance of Border Agencies", K.INTERNATIONAL, R.GLOBAL, "Geneva", "CH",
     "Border management standards and advance passenger information."),
    ("IOCIR", "International Organization for Cyber Incident Response", K.INTERNATIONAL, R.GLOBAL,
     "Tallinn", "EE", "Coordinates responses to attacks on critical information systems."),
    ("TCSA", "Transnational Correctional Services Association", K.INTERNATIONAL, R.GLOBAL, "Ottawa", "CA",
     "Prison management and the prevention of radicalization in custody."),
    ("UNBDEP", "United Nations Border Data Exchange Programme", K.UN_ENTITY, R.GLOBAL, "New York", "US",
     "Helps states exchange traveller data lawfully."),
    ("UNIRC", "United Nations Institute for Resilient Communities", K.UN_ENTITY, R.GLOBAL, "Turin", "IT",
     "Research and training on community resilience to violent extremism."),
    ("UNPTFT", "United Nations Programme on Terrorist Financing Typologies", K.UN_ENTITY, R.GLOBAL,
     "Vienna", "AT", "Publishes typologies of terrorist financing."),
    ("UNLOLB", "United Nations Liaison Office for the Lake Basin", K.UN_ENTITY, R.AFRICA, "N'Djamena", "TD",
     "Liaises with the states of the lake basin on stabilization."),
    ("UNMSTU", "United Nations Maritime Security Training Unit", K.UN_ENTITY, R.ASIA_PACIFIC, "Colombo", "LK",
     "Trains coast guards in maritime law enforcement."),
    ("UNOJCCA", "United Nations Office for Judicial Cooperation in Central Asia", K.UN_ENTITY, R.ASIA_PACIFIC,
     "Almaty", "KZ", "Supports mutual legal assistance among Central Asian states."),
    ("SCCS", "Sahel Coordination Council for Security", K.SUBREGIONAL, R.AFRICA, "Niamey", "NE",
     "Coordinates border security among Sahel states."),
    ("GLJCN", "Great Lakes Judicial Cooperation Network", K.SUBREGIONAL, R.AFRICA, "Kigali", "RW",
     "Judicial cooperation and extradition in the Great Lakes region."),
    ("EABMA", "East African Border Management Authority", K.SUBREGIONAL, R.AFRICA, "Arusha", "TZ",
     "Joint border posts and watch-list sharing."),
    ("SAPSF", "Southern Africa Policing Standards Forum", K.SUBREGIONAL, R.AFRICA, "Gaborone", "BW",
     "Common policing standards among southern African states."),
    ("WAFIP", "West African Financial Intelligence Platform", K.SUBREGIONAL, R.AFRICA, "Dakar", "SN",
     "Connects the financial intelligence units of West Africa."),
    ("PACPR", "Pan-African Centre for the Prevention of Radicalisation", K.REGIONAL, R.AFRICA,
     "Addis Ababa", "ET", "Research and programmes on preventing violent extremism."),
    ("GGMW", "Gulf of Guinea Maritime Watch", K.SUBREGIONAL, R.AFRICA, "Yaoundé", "CM",
     "Maritime domain awareness in the Gulf of Guinea."),
    ("HASD", "Horn of Africa Security Dialogue", K.SUBREGIONAL, R.AFRICA, "Djibouti", "DJ",
     "Regular security dialogue among Horn of Africa states."),
    ("IOISC", "Indian Ocean Island States Council", K.SUBREGIONAL, R.AFRICA, "Port Louis", "MU",
     "Cooperation of island states on maritime and financial security."),
    ("CMIP", "Caribbean Maritime Interdiction Partnership", K.SUBREGIONAL, R.AMERICAS, "Bridgetown", "BB",
     "Joint interdiction of illicit maritime traffic."),
    ("ACTC", "Andean Council on Transnational Crime", K.SUBREGIONAL, R.AMERICAS, "Lima", "PE",
     "Policy coordination on organized crime and terrorism."),
    ("IANCTP", "Inter-American Network of Counter-Terrorism Prosecutors", K.REGIONAL, R.AMERICAS,
     "Bogotá", "CO", "Case cooperation among prosecutors of the Americas."),
    ("CABCC", "Central American Border Cooperation Commission", K.SUBREGIONAL, R.AMERICAS, "San Salvador", "SV",
     "Coordinated border management in Central America."),
    ("SCFIG", "Southern Cone Financial Intelligence Group", K.SUBREGIONAL, R.AMERICAS, "Montevideo", "UY",
     "Financial intelligence exchange among Southern Cone states."),
    ("HASF", "Hemispheric Aviation Security Forum", K.REGIONAL, R.AMERICAS, "Panama City", "PA",
     "Aviation security cooperation across the hemisphere."),
    ("ABRLI", "Amazon Basin Rule of Law Initiative", K.SUBREGIONAL, R.AMERICAS, "Brasília", "BR",
     "Rule-of-law programmes in the Amazon border areas."),
    ("PILEN", "Pacific Islands Law Enforcement Network", K.SUBREGIONAL, R.ASIA_PACIFIC, "Suva", "FJ",
     "Police cooperation among Pacific island states."),
    ("MRSP", "Mekong Riparian Security Partnership", K.SUBREGIONAL, R.ASIA_PACIFIC, "Vientiane", "LA",
     "River and border security along the Mekong."),
    ("SACRF", "South Asian Counter-Radicalisation Forum", K.SUBREGIONAL, R.ASIA_PACIFIC, "Kathmandu", "NP",
     "Exchange of practice on countering radicalization."),
    ("CARIH", "Central Asian Regional Information Hub", K.SUBREGIONAL, R.ASIA_PACIFIC, "Bishkek", "KG",
     "Information exchange on foreign terrorist fighters."),
    ("APTSC", "Asia-Pacific Transport Security Council", K.REGIONAL, R.ASIA_PACIFIC, "Bangkok", "TH",
     "Security of land, sea and air transport in Asia and the Pacific."),
    ("NACCG", "Northeast Asia Customs Cooperation Group", K.SUBREGIONAL, R.ASIA_PACIFIC, "Seoul", "KR",
     "Customs controls on dual-use goods."),
    ("SMCC", "Straits Maritime Coordination Centre", K.SUBREGIONAL, R.ASIA_PACIFIC, "Kuala Lumpur", "MY",
     "Coordinated patrols in the straits."),
    ("OFIG", "Oceania Financial Integrity Group", K.REGIONAL, R.ASIA_PACIFIC, "Wellington", "NZ",
     "Anti-money-laundering cooperation in Oceania."),
    ("BSSCC", "Baltic Sea Security Cooperation Council", K.SUBREGIONAL, R.EUROPE, "Riga", "LV",
     "Civil security cooperation around the Baltic Sea."),
    ("DRJN", "Danube Region Judicial Network", K.SUBREGIONAL, R.EUROPE, "Bratislava", "SK",
     "Judicial cooperation among Danube states."),
    ("EFPDP", "European Forum of Prison Deradicalisation Practitioners", K.REGIONAL, R.EUROPE, "Lisbon", "PT",
     "Exchange among practitioners of prison disengagement programmes."),
    ("NACPC", "Nordic-Arctic Civil Protection Council", K.SUBREGIONAL, R.EUROPE, "Tromsø", "NO",
     "Protection of critical infrastructure in the High North."),
    ("BBDN", "Balkan Border Data Network", K.SUBREGIONAL, R.EUROPE, "Skopje", "MK",
     "Border data sharing among Western Balkan states."),
    ("ARTSG", "Alpine Rail and Transit Security Group", K.SUBREGIONAL, R.EUROPE, "Bern", "CH",
     "Security of rail and transit corridors through the Alps."),
    ("BSLSF", "Black Sea Littoral Security Forum", K.SUBREGIONAL, R.EUROPE, "Constanța", "RO",
     "Maritime and port security on the Black Sea."),
    ("MSCC", "Maghreb Security Coordination Committee", K.SUBREGIONAL, R.MIDDLE_EAST, "Rabat", "MA",
     "Security coordination among Maghreb states."),
    ("GMIC", "Gulf Maritime Information Centre", K.SUBREGIONAL, R.MIDDLE_EAST, "Manama", "BH",
     "Maritime information sharing in the Gulf."),
    ("LHPN", "Levant Humanitarian Protection Network", K.SUBREGIONAL, R.MIDDLE_EAST, "Amman", "JO",
     "Protection of humanitarian operations from terrorist abuse."),
    ("AFFI", "Arab Forum of Financial Investigators", K.REGIONAL, R.MIDDLE_EAST, "Cairo", "EG",
     "Training and case exchange among financial investigators."),
    ("RSLSC", "Red Sea Littoral States Council", K.SUBREGIONAL, R.MIDDLE_EAST, "Jeddah", "SA",
     "Maritime security cooperation among Red Sea states."),
    ("MDFTF", "Mediterranean Dialogue on Foreign Terrorist Fighters", K.REGIONAL, R.MIDDLE_EAST, "Tunis", "TN",
     "Dialogue on returning foreign terrorist fighters and their families."),
]

ORGANIZATIONS: list[OrganizationSpec] = REAL_ORGANIZATIONS + [
    OrganizationSpec(acronym, name, kind, region, city, country, f"https://{acronym.lower()}.example.org/", mandate)
    for acronym, name, kind, region, city, country, mandate in _INVENTED
]

USERS = [
    UserSpec("admin", "Portal", "Administrator", "superuser"),
    UserSpec("secretariat", "Amara", "Lindqvist-Okafor", "secretariat"),
    UserSpec("liaison.asean", "Dewi", "Santoso", "liaison", ("ASEAN",)),
    UserSpec("liaison.oas", "Lucía", "Ibáñez", "liaison", ("OAS",)),
    UserSpec("liaison.eu", "Søren", "Halvorsen", "liaison", ("EU",)),
    UserSpec("liaison.las", "Karim", "Benyoussef", "liaison", ("LAS",)),
    # One person looking after two organizations, as happens in small secretariats.
    UserSpec("liaison.pacific", "Aroha", "Ngata", "liaison", ("PILEN", "OFIG")),
]

# --- Invented people ---------------------------------------------------------------------------
# Given and family names are combined per organization; an entry is "Name" or ("Name", "ascii")
# when the email address needs a transliteration. Chinese and Vietnamese names put the family first.


@dataclass(frozen=True)
class NamePool:
    given: tuple
    family: tuple
    family_first: bool = False
    joiner: str = " "


NAME_POOLS = {
    "arabic": NamePool(
        given=(("ليلى", "layla"), ("يوسف", "youssef"), ("مريم", "mariam"), ("خالد", "khaled"), ("نور", "nour"),
               ("سامي", "sami"), ("هدى", "huda"), ("عمر", "omar")),
        family=(("الحسيني", "alhusseini"), ("المنصوري", "almansouri"), ("العطار", "alattar"), ("الزين", "alzein"),
                ("حداد", "haddad"), ("الشامي", "alshami")),
    ),
    "maghreb": NamePool(
        given=("Yasmine", "Hédi", "Karima", "Anouar", "Salma", "Rachid", "Imène", "Walid"),
        family=("Benkirane", "Trabelsi", "El Idrissi", "Bouazizi", "Cherkaoui", "Mansouri"),
    ),
    "french": NamePool(
        given=("Émile", "Hélène", "Zoé", "François", "Cécile", "Jérôme", "Noémie", "Thérèse"),
        family=("Laurent", "Lefèvre", "Moreau", "Gauthier", "Bérenger", "Roussel", "Mercier"),
    ),
    "iberian": NamePool(
        given=("José", "María", "Sofía", "Andrés", "Inés", "João", "Gonçalo", "Lucía", "Joaquín"),
        family=("Álvarez", "Peña", "Ibáñez", "Gutiérrez", "Araújo", "Ferreira", "Muñoz", "Quiñones"),
    ),
    "cyrillic": NamePool(
        given=(("Ольга", "olga"), ("Дмитрий", "dmitry"), ("Анна", "anna"), ("Сергей", "sergey"),
               ("Наталья", "natalya"), ("Тимур", "timur"), ("Айгерим", "aigerim"), ("Ирина", "irina")),
        # Family names that do not change with gender, so any pairing reads correctly.
        family=(("Коваленко", "kovalenko"), ("Бондаренко", "bondarenko"), ("Ткаченко", "tkachenko"),
                ("Мельник", "melnyk"), ("Шевчук", "shevchuk"), ("Лысенко", "lysenko")),
    ),
    "chinese": NamePool(
        given=(("秀英", "xiuying"), ("伟", "wei"), ("敏", "min"), ("静", "jing"), ("晓明", "xiaoming"),
               ("丽华", "lihua"), ("建国", "jianguo"), ("嘉怡", "jiayi")),
        family=(("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("赵", "zhao")),
        family_first=True,
        joiner="",
    ),
    "vietnamese": NamePool(
        given=("Thị Hoa", "Văn Minh", "Thu Thảo", "Quốc Bảo", "Ngọc Lan", "Đức Anh"),
        family=("Nguyễn", "Trần", "Phạm", "Lê", "Hoàng", "Đặng"),
        family_first=True,
    ),
    "southeast_asian": NamePool(
        given=("Putri", "Dewi", "Arif", "Somchai", "Rizal", "Malee", "Jericho", "Nurul"),
        family=("Wijaya", "Santoso", "Wongsakul", "Lim", "Tan", "Dela Cruz", "Hashim"),
    ),
    "south_asian": NamePool(
        given=("Priya", "Arjun", "Farah", "Imran", "Ananya", "Rohan", "Sadia", "Bilal"),
        family=("Raghunathan", "Chaudhry", "Siddiqui", "Perera", "Bhattarai", "Karunaratne", "Mehta"),
    ),
    "african": NamePool(
        given=("Amina", "Kwame", "Ngozi", "Tendai", "Fatoumata", "Kofi", "Wanjiru", "Babajide", "Aïssatou",
               "Moussa"),
        family=("Okonkwo", "Mensah", "Diallo", "Mwangi", "Traoré", "Banda", "Adeyemi", "Kamara", "Ndiaye"),
    ),
    "european": NamePool(
        given=("Søren", "Åsa", "Björn", "Łukasz", "Zuzana", "Jürgen", "Małgorzata", "Tomáš", "Sigrún", "Ioana"),
        family=("Jørgensen", "Lindqvist", "Wróbel", "Halvorsen", "Müller", "Kovač", "Horvat", "Öztürk",
                "Țurcanu"),
    ),
    "anglo_pacific": NamePool(
        given=("Margaret", "Oliver", "Grace", "Duncan", "Aroha", "Tevita", "Mele", "Hamish"),
        family=("Whitfield", "Ashworth", "Taufa", "Ngata", "Brennan", "MacLeod", "Fonoti"),
    ),
}

REGION_POOLS = {
    R.GLOBAL: ("french", "iberian", "arabic", "cyrillic", "chinese", "african", "european", "south_asian"),
    R.AFRICA: ("african", "french", "maghreb", "iberian", "arabic"),
    R.AMERICAS: ("iberian", "anglo_pacific", "french"),
    R.ASIA_PACIFIC: ("chinese", "vietnamese", "southeast_asian", "south_asian", "cyrillic", "anglo_pacific"),
    R.EUROPE: ("european", "french", "cyrillic", "anglo_pacific", "iberian"),
    R.MIDDLE_EAST: ("arabic", "maghreb", "french", "european"),
}

REGION_LANGUAGES = {
    R.GLOBAL: ("en", "fr", "es", "ar", "ru", "zh"),
    R.AFRICA: ("en", "fr", "ar", "pt", "sw", "ha"),
    R.AMERICAS: ("es", "en", "pt", "fr"),
    R.ASIA_PACIFIC: ("en", "zh", "id", "ms", "ru", "ur"),
    R.EUROPE: ("en", "fr", "de", "it", "ru", "tr"),
    R.MIDDLE_EAST: ("ar", "fr", "en", "fa", "tr"),
}

# Ranges reserved for fiction, as (prefix, digits after it, lowest, highest): every number built from
# them is valid for `phonenumbers` yet reaches nobody.
PHONE_RANGES = {
    # NANP: 555-0100..0199 in any area code (here Washington, New York, Miami, Ottawa, Toronto).
    "nanp": [("+1202555", 4, 100, 199), ("+1212555", 4, 100, 199), ("+1305555", 4, 100, 199),
             ("+1613555", 4, 100, 199), ("+1416555", 4, 100, 199)],
    # Ofcom drama numbers: 020 7946 0xxx, 0113 496 0xxx, 0161 496 0xxx.
    "uk": [("+44207946", 4, 0, 999), ("+44113496", 4, 0, 999), ("+44161496", 4, 0, 999)],
    # ARCEP: 01 99 00 xx xx.
    "fr": [("+3319900", 4, 0, 9999)],
    # ACMA: (02) 5550 xxxx and (03) 7010 xxxx.
    "au": [("+6125550", 4, 0, 9999), ("+6137010", 4, 0, 9999)],
}
REGION_PHONES = {
    R.GLOBAL: ("nanp", "uk", "fr", "au"),
    R.AFRICA: ("fr", "uk"),
    R.AMERICAS: ("nanp",),
    R.ASIA_PACIFIC: ("au",),
    R.EUROPE: ("uk", "fr"),
    R.MIDDLE_EAST: ("fr", "uk"),
}

TITLES = (
    "Head, Counter-Terrorism Unit", "Senior Legal Adviser", "Programme Officer, Border Security",
    "Director of Security Cooperation", "Liaison Officer", "Policy Analyst, Countering the Financing of Terrorism",
    "Coordinator, Preventing Violent Extremism", "Deputy Director, Legal Affairs", "Information Analyst",
    "Chief of Staff", "Senior Programme Manager", "Focal Point for Victims of Terrorism",
)
NOTES = (
    "", "", "", "Prefers contact by email.", "Copy the alternate on all correspondence.",
    "Away in August; the alternate covers.", "Also handles sanctions questions.",
)
_ASCII_EXTRA = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "æ": "ae", "ß": "ss", "ı": "i", "'": "", " ": "-"})


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_ASCII_EXTRA))
    return "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch == "-"))


def _name(entry) -> tuple[str, str]:
    return entry if isinstance(entry, tuple) else (entry, _ascii(entry))


def _phone(ranges: list, counter: int) -> str:
    prefix, digits, lowest, highest = ranges[counter % len(ranges)]
    return f"{prefix}{lowest + counter % (highest - lowest + 1):0{digits}d}"


def focal_points_for(spec: OrganizationSpec) -> list[dict[str, Any]]:
    """Return the invented focal points of one organization, the same on every call.

    Two to four people; most organizations have an active primary, a few a former (inactive) one.
    """
    # A string seed is hashed with SHA-512, so the sequence does not depend on PYTHONHASHSEED.
    rng = random.Random(f"ctc-demo:{spec.acronym}")
    count = rng.randint(2, 4)
    has_primary = rng.random() < 0.85
    former_primary = count >= 3 and rng.random() < 0.3
    domain = f"{spec.acronym.lower()}.example.org"
    phone_kinds = REGION_PHONES[spec.region]
    people = []
    used_given: set[str] = set()
    used_family: set[str] = set()
    for index in range(count):
        pool = NAME_POOLS[rng.choice(REGION_POOLS[spec.region])]
        given, given_ascii = _name(rng.choice([g for g in pool.given if _name(g)[0] not in used_given]))
        family, family_ascii = _name(rng.choice([f for f in pool.family if _name(f)[0] not in used_family]))
        used_given.add(given)
        used_family.add(family)
        full_name = pool.joiner.join((family, given) if pool.family_first else (given, family))
        if index == 0 and has_primary:
            role = FocalPoint.Role.PRIMARY
        elif index == 1 or (index == 0 and not has_primary):
            role = FocalPoint.Role.ALTERNATE
        else:
            role = FocalPoint.Role.OTHER
        is_active = True
        if former_primary and index == count - 1:
            role, is_active = FocalPoint.Role.PRIMARY, False
        languages = sorted(set(rng.sample(REGION_LANGUAGES[spec.region], k=rng.randint(1, 3))) | {"en"})
        ranges = PHONE_RANGES[rng.choice(phone_kinds)]
        phone_counter = rng.randrange(1000)
        people.append({
            "full_name": full_name,
            "title": rng.choice(TITLES),
            "role": role,
            "email": f"{given_ascii}.{family_ascii}@{domain}",
            "phone": _phone(ranges, phone_counter),
            "mobile": _phone(PHONE_RANGES["nanp"], phone_counter + 1) if rng.random() < 0.3 else "",
            "languages": languages,
            # Organizations with a UN liaison office keep one person in New York.
            "city": "New York" if spec.kind == K.INTERNATIONAL and index == 2 else spec.city,
            "country": "US" if spec.kind == K.INTERNATIONAL and index == 2 else spec.country,
            "notes": rng.choice(NOTES),
            "is_active": is_active,
        })
    return people


# --- Loading -----------------------------------------------------------------------------------


@dataclass
class LoadReport:
    organizations: int = 0
    focal_points: int = 0
    users: int = 0
    changes: list[str] = field(default_factory=list)


def _save(instance) -> None:
    # Same checks as the services, but recorded as demo data with no person behind it.
    instance.full_clean()
    instance._history_user = None
    instance._change_reason = HISTORY_REASON
    instance.save()


def _ensure_user(spec: UserSpec, report: LoadReport):
    user, created = get_user_model().objects.get_or_create(
        username=spec.username,
        defaults={"email": spec.email, "first_name": spec.first_name, "last_name": spec.last_name},
    )
    wanted = {"is_active": True, "is_staff": spec.role == "superuser", "is_superuser": spec.role == "superuser"}
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, wanted[name])
    # The printed logins must work, so a changed demo password is put back (checked, not rewritten:
    # a fresh hash on every run would count as a change).
    if created or not user.check_password(DEMO_PASSWORD):
        validate_password(DEMO_PASSWORD, user)
        user.set_password(DEMO_PASSWORD)
        changed.append("password")
    if created or changed:
        user.save()
    if created:
        report.users += 1
    elif changed:
        report.changes.append(f"user {spec.username}: reset {', '.join(changed)}")
    return user


def _ensure_organization(spec: OrganizationSpec, report: LoadReport) -> Organization:
    organization = Organization.objects.filter(acronym__iexact=spec.acronym).first()
    if organization is None:
        organization = Organization(
            acronym=spec.acronym, name=spec.name, kind=spec.kind, region=spec.region,
            website=spec.website, mandate=spec.mandate,
        )
        _save(organization)
        report.organizations += 1
    return organization


def _ensure_focal_point(organization: Organization, data: dict[str, Any], report: LoadReport) -> None:
    if FocalPoint.objects.filter(organization=organization, email__iexact=data["email"]).exists():
        return
    focal_point = FocalPoint(organization=organization, **data)
    primary_taken = FocalPoint.objects.filter(
        organization=organization, role=FocalPoint.Role.PRIMARY, is_active=True,
    ).exists()
    if focal_point.role == FocalPoint.Role.PRIMARY and focal_point.is_active and primary_taken:
        # Someone promoted another person since the demo was loaded: keep theirs.
        focal_point.role = FocalPoint.Role.ALTERNATE
    _save(focal_point)
    report.focal_points += 1


@transaction.atomic
def demo_data_load() -> LoadReport:
    """Create whatever of the demo dataset is missing, and make the demo logins work.

    Organizations are matched by acronym (case-insensitive), focal points by organization and email,
    users by username. Existing organizations and focal points are left as they are, so edits made
    while trying the portal survive the next `make run`; demo accounts get their role, active flag
    and password back. A second run writes nothing.
    """
    report = LoadReport()
    organizations = {}
    for spec in ORGANIZATIONS:
        organization = _ensure_organization(spec, report)
        organizations[spec.acronym] = organization
        for data in focal_points_for(spec):
            _ensure_focal_point(organization, data, report)

    for spec in USERS:
        user = _ensure_user(spec, report)
        if spec.role == "secretariat" and not user.groups.filter(name=gate.secretariat_group_name()).exists():
            services.secretariat_grant(user=user)
        for acronym in spec.organizations:
            organization = organizations[acronym]
            if not selectors.organization_liaisons(organization=organization).filter(pk=user.pk).exists():
                services.liaison_assign(actor=None, user=user, organization=organization)
    return report
