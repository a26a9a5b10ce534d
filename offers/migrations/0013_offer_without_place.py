"""Offers without a place: commune and coordinates optional (an offer then has a service area), `remote` for
offers delivered at a distance; the country level of territories, and France (FR) written from the régions already
loaded (the territory loaders keep it up to date afterwards, see offers.services.reference_data.country_sync)."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


def france_create(apps, schema_editor):
    Territory = apps.get_model("offers", "Territory")
    regions = list(Territory.objects.filter(kind="region").order_by("path").values("path", "population"))
    if not regions or Territory.objects.filter(kind="country", code="FR").exists():
        return  # an empty database gets France with its first territories
    populations = [row["population"] for row in regions if row["population"] is not None]
    Territory.objects.create(
        kind="country",
        code="FR",
        name="France",
        name_folded="france",
        path="pFR/",
        population=sum(populations) if populations else None,
        area_paths=[row["path"] for row in regions],
    )


def france_delete(apps, schema_editor):
    apps.get_model("offers", "Territory").objects.filter(kind="country").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("offers", "0012_catalogue_seq"),
    ]

    operations = [
        migrations.AddField(
            model_name="offer",
            name="remote",
            field=models.BooleanField(
                default=False,
                help_text="Delivered at a distance (online, by phone, at home): reachable anywhere in its service area.",
            ),
        ),
        migrations.AlterField(
            model_name="offer",
            name="commune",
            field=models.ForeignKey(
                blank=True,
                help_text="Commune where the offer takes place; empty for an offer without a place (see service_area).",
                limit_choices_to={"kind": "commune"},
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="offers",
                to="offers.territory",
            ),
        ),
        migrations.AlterField(
            model_name="offer",
            name="latitude",
            field=models.FloatField(
                blank=True,
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(-90),
                    django.core.validators.MaxValueValidator(90),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="offer",
            name="longitude",
            field=models.FloatField(
                blank=True,
                null=True,
                validators=[
                    django.core.validators.MinValueValidator(-180),
                    django.core.validators.MaxValueValidator(180),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="territory",
            name="kind",
            field=models.CharField(
                choices=[
                    ("country", "Country"),
                    ("region", "Region"),
                    ("departement", "Département"),
                    ("epci", "Intercommunality (EPCI)"),
                    ("commune", "Commune"),
                    ("custom", "Project territory"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(france_create, france_delete),
    ]
