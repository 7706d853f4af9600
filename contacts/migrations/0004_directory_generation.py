"""The directory generation: a token the database itself changes on every write to organizations or
focal points (contacts/content_cache.py keys cached directory content by it).

Triggers rather than Django signals, so that no write can miss it: bulk inserts, queryset updates,
raw SQL and an operator's psql session all change the token, in the same transaction.
"""

from django.core.exceptions import ImproperlyConfigured
from django.db import migrations, models

TABLES = ["contacts_organization", "contacts_focalpoint"]

POSTGRESQL_FUNCTION = """
CREATE OR REPLACE FUNCTION contacts_directory_generation_bump() RETURNS trigger AS $$
BEGIN
    INSERT INTO contacts_directorygeneration (id, token) VALUES (1, replace(gen_random_uuid()::text, '-', ''))
    ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FUNCTION)
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION contacts_directory_generation_bump()"
            )
    elif vendor == "sqlite":
        for table in TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_generation_{event.lower()} AFTER {event} ON {table} BEGIN "
                    "INSERT OR REPLACE INTO contacts_directorygeneration (id, token) "
                    "VALUES (1, lower(hex(randomblob(16)))); END"
                )
    else:
        raise ImproperlyConfigured(f"No directory generation triggers for {vendor}; use PostgreSQL or SQLite.")


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_generation ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_generation_{event}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS contacts_directory_generation_bump()")


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0003_organization_translations"),
    ]

    operations = [
        migrations.CreateModel(
            name="DirectoryGeneration",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token", models.CharField(max_length=32)),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
