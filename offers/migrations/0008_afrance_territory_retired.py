"""Territory.retired (communes gone from the official geography, kept for what points to them), and on PostgreSQL a
trigram index on name_folded: the territory name search (`?q=`) matches the start of any word of the name
(`LIKE '% omer%'`), which the btree index cannot serve; on all of France that is a 35,000-row scan per request."""

from django.db import migrations, models


def name_trigram_index_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS territory_name_folded_trgm ON offers_territory USING GIN (name_folded gin_trgm_ops)"
    )


def name_trigram_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS territory_name_folded_trgm")  # the extension may serve others


class Migration(migrations.Migration):
    dependencies = [
        ("offers", "0007_territory_population_areas_postal_codes"),
    ]

    operations = [
        migrations.AddField(
            model_name="territory",
            name="retired",
            field=models.BooleanField(
                default=False, help_text="No longer in the official geography (see successor when it was merged)."
            ),
        ),
        migrations.RunPython(name_trigram_index_create, name_trigram_index_drop),
    ]
