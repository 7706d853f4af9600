"""Which main-menu section a page belongs to, so the menu can mark it as the current one."""

# View names (namespace:url_name) by menu section; the first matching prefix wins.
SECTIONS = [
    ("my_organizations", ("contacts:my_organizations", "contacts:verification_confirm")),
    ("organizations", ("contacts:organization", "contacts:focal_point_create")),
    ("focal_points", ("contacts:focal_point",)),
    ("communiques", ("communiques:communique_list", "communiques:communique_detail", "communiques:subscribe",
                     "communiques:access_request")),
    ("secretariat", ("contacts:liaison", "contacts:review", "contacts:account", "contacts:invitation",
                     "contacts:export_log", "contacts:verification_report", "communiques:", "api_token_list",
                     "accounts:audit_event_list", "accounts:lockout", "accounts:two_factor_list",
                     "accounts:two_factor_reset")),
    ("account", ("password_change", "api_token", "accounts:")),
]


def section_of(view_name: str | None) -> str:
    if not view_name:
        return ""
    for section, prefixes in SECTIONS:
        if any(view_name.startswith(prefix) for prefix in prefixes):
            return section
    return ""
