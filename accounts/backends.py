from axes.backends import AxesStandaloneBackend


class RequestOptionalAxesBackend(AxesStandaloneBackend):
    """axes' backend, except that authentication without a request passes through unthrottled.

    For the test settings only: Django's test client logs in with `authenticate(**credentials)`,
    without a request, which axes 8 refuses with an error. Every login through a page has a request
    and is throttled exactly as in production.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
