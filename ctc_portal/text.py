import unicodedata

# Letters that Unicode does not decompose into a base letter plus an accent.
_BASE_LETTERS = str.maketrans({
    "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th",
    "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ı": "i", "ß": "ss", "ħ": "h", "Ħ": "h", "ŧ": "t", "Ŧ": "t",
})


def fold(text: str) -> str:
    """Return text as search and sorting compare it: accents and case removed, spaces collapsed.

    "Organisation des États américains" and "organisation des etats americains" fold alike, and so
    do Arabic words with and without their vowel marks, on SQLite as on PostgreSQL.
    """
    decomposed = unicodedata.normalize("NFKD", (text or "").translate(_BASE_LETTERS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
