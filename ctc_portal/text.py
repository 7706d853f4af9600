import unicodedata


def fold(text: str) -> str:
    """Return text as search and sorting compare it: accents and case removed, spaces collapsed.

    "Organisation des États américains" and "organisation des etats americains" fold alike, and so
    do Arabic words with and without their vowel marks, on SQLite as on PostgreSQL.
    """
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
