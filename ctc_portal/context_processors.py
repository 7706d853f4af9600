from ctc_portal import gate


def roles(request):
    """Expose the user's role to templates, so menus show only what the user may open."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {
        "is_secretariat": gate.is_secretariat(user),
        "can_read_directory": gate.can_read_directory(user),
    }
