import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "ctc_portal.settings.bench"
application = get_wsgi_application()
