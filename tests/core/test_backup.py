"""make backup / make restore: a backup restored into a fresh database holds the same data and files."""

import os
import subprocess

import psycopg2
import pytest
from django.db import connection

from contacts.models import FocalPoint, Organization
from tests.factories import FocalPointFactory, OrganizationFactory
from tests.support import ROOT


def _run(script, env, *args):
    result = subprocess.run(["bash", f"scripts/{script}", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def _url(name):
    params = connection.settings_dict
    return f"postgres://{params['USER']}:{params['PASSWORD']}@{params['HOST']}:{params['PORT']}/{name}"


@pytest.mark.django_db(transaction=True)
def test_backup_restores_into_a_fresh_database(tmp_path):
    organization = OrganizationFactory(acronym="ÉCOWAS", name="Communauté économique — test")
    FocalPointFactory(organization=organization, full_name="Ана Петрова", email="ana@example.org")
    media = tmp_path / "media"
    (media / "editions").mkdir(parents=True)
    (media / "editions" / "ctc-contact-list-edition-1.pdf").write_bytes(b"%PDF-1.7 test")

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ctc_portal.settings.test", "PYTHON": os.sys.executable,
           "DATABASE_URL": _url(connection.settings_dict["NAME"]), "TEST_MEDIA_ROOT": str(media),
           "BACKUP_DIR": str(tmp_path / "backups")}
    output = _run("backup.sh", env)
    folder = output.strip().rsplit(" ", 1)[-1]
    assert sorted(os.listdir(folder)) == ["database.dump", "media.tar.gz"]

    fresh = f"{connection.settings_dict['NAME']}_restored"
    admin = psycopg2.connect(_url("postgres").replace("postgres://", "postgresql://"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{fresh}"')
        cursor.execute(f'CREATE DATABASE "{fresh}"')
    try:
        restored_media = tmp_path / "restored-media"
        _run("restore.sh", {**env, "DATABASE_URL": _url(fresh), "TEST_MEDIA_ROOT": str(restored_media)}, folder)
        restored = psycopg2.connect(_url(fresh).replace("postgres://", "postgresql://"))
        try:
            with restored.cursor() as cur:
                cur.execute(f"SELECT acronym, name FROM {Organization._meta.db_table} ORDER BY acronym")
                assert cur.fetchall() == list(Organization.objects.order_by("acronym").values_list("acronym", "name"))
                cur.execute(f"SELECT full_name, email, phone FROM {FocalPoint._meta.db_table}")
                assert cur.fetchall() == [("Ана Петрова", "ana@example.org", FocalPoint.objects.get().phone.as_e164)]
        finally:
            restored.close()
        assert (restored_media / "editions" / "ctc-contact-list-edition-1.pdf").read_bytes() == b"%PDF-1.7 test"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{fresh}"')
        admin.close()


def test_restore_without_a_backup_folder_says_how(tmp_path):
    result = subprocess.run(["bash", "scripts/restore.sh", str(tmp_path / "missing")], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "make restore BACKUP=" in result.stderr
