import pytest

from communiques.models import MailingList, Subscriber, Subscription


@pytest.fixture
def smtp_settings(settings, smtp_sink, tmp_path):
    """Send this test process's mail to the sink over real SMTP."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def make_subscriber(
    email,
    mailing_list=MailingList.CONTACTS,
    state=Subscription.State.ACTIVE,
    source=Subscription.Source.SECRETARIAT,
    **fields,
):
    subscriber = Subscriber.objects.create(email=email, name=fields.pop("name", ""))
    defaults = {"confirmed_at": None, "approved_at": None}
    if source in (Subscription.Source.SECRETARIAT, Subscription.Source.IMPORT) or state == Subscription.State.ACTIVE:
        from django.utils import timezone

        defaults = {"confirmed_at": timezone.now(), "approved_at": timezone.now()}
    defaults.update(fields)
    Subscription.objects.create(
        subscriber=subscriber, mailing_list=mailing_list, state=state, source=source, **defaults
    )
    return subscriber
