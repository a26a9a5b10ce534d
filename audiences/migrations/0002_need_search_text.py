"""Folded copy of each need's statement, so `q` ignores accents on every database."""

from django.db import migrations, models


def fill_search_text(apps, schema_editor):
    from api.text import fold_text

    Need = apps.get_model("audiences", "Need")
    for need in Need.objects.only("id", "statement").iterator():
        Need.objects.filter(pk=need.pk).update(search_text=fold_text(need.statement))


class Migration(migrations.Migration):
    dependencies = [
        ("audiences", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="need",
            name="search_text",
            field=models.TextField(blank=True, editable=False, help_text="Accent-folded statement used for search."),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
    ]
