from ctc_portal import gate
from ctc_portal.navigation import section_of


def roles(request):
    """Expose the user's role to templates, so menus show only what the user may open."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    match = getattr(request, "resolver_match", None)
    return {
        "nav_section": section_of(match.view_name if match else None),
        "is_secretariat": gate.is_secretariat(user),
        "can_read_directory": gate.can_read_directory(user),
    }
