"""Date formats for Arabic pages where Django's own Arabic locale defines none.

Without these, Arabic falls back to the global US defaults ("11/29/2026 8:31 ص"), which readers
outside the United States take for 11 Month 29. Day first, 24-hour clock, as in UN Arabic documents.
Formats Django's Arabic locale already has (DATE_FORMAT, SHORT_DATE_FORMAT, ...) are left to it.
"""

TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j F Y، H:i"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
