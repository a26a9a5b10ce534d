"""Synthetic French offers and needs for the matching benchmark, seeded, built from the taxonomy's vocabulary.

Only `manage.py bench_matching` and bench/ use this module. Bench rows are marked (`source="bench"` on offers,
`source_reference="bench"` on needs) so the command can recognise a database that holds nothing else.
"""

from __future__ import annotations

import numpy as np
from django.db import transaction

from audiences.models import Need, NeedSource
from offers.models import Audience, Offer, Organisation, OrganisationKind, Territory, TerritoryKind, Theme
from offers.services import catalogue_changed

BENCH_SOURCE = "bench"

_OPENINGS = (
    "Ouvert du lundi au vendredi",
    "Accueil sur rendez-vous",
    "Permanence le mardi et le jeudi",
    "Ouvert toute l'année",
    "Accueil le samedi matin",
    "Sur inscription auprès de l'accueil",
)
_QUALIFIERS = (
    "pour tous les âges",
    "accessible aux personnes à mobilité réduite",
    "à deux pas du centre-bourg",
    "avec un accompagnement personnalisé",
    "en lien avec les associations locales",
    "proposé par la communauté de communes",
    "dans un cadre rural et calme",
    "avec une équipe de bénévoles",
)
_NOUNS = (
    "service",
    "accueil",
    "espace",
    "point d'information",
    "permanence",
    "atelier",
    "dispositif",
    "lieu",
)
_NEED_OPENINGS = (
    "Je cherche",
    "Nous avons besoin d'",
    "Trouver facilement",
    "Avoir accès à",
    "Il manque",
    "Pouvoir bénéficier d'",
)
_NEED_ENDINGS = (
    "près de chez nous",
    "sans faire trop de route",
    "pour notre famille",
    "à un prix raisonnable",
    "le week-end",
    "rapidement après notre installation",
    "dans le bourg",
)


def bench_data_is_alone() -> tuple[bool, str]:
    """True when every offer and need in the database was made by the benchmark (or there are none)."""
    foreign_offers = Offer.objects.exclude(source=BENCH_SOURCE).count()
    foreign_needs = Need.objects.exclude(source_reference=BENCH_SOURCE).count()
    if foreign_offers or foreign_needs:
        return False, f"{foreign_offers} offers and {foreign_needs} needs were not made by the benchmark"
    return True, ""


def bench_clear() -> None:
    from matching.models import MatchingRun

    MatchingRun.objects.all().delete()
    Need.objects.filter(source_reference=BENCH_SOURCE).delete()
    with transaction.atomic():
        offers = Offer.objects.filter(source=BENCH_SOURCE)
        removed = list(offers.values_list("pk", flat=True))
        offers.delete()
        catalogue_changed(removed=removed)
    Organisation.objects.filter(slug__startswith="bench-").delete()


def _words(keywords: str) -> list[str]:
    return [word for word in keywords.replace(",", " ").split() if len(word) > 2]


def bench_generate(*, offers: int, needs: int, seed: int = 0, batch: int = 5000) -> None:
    """Create `offers` offers and `needs` needs spread over the Creuse communes and every theme."""
    rng = np.random.default_rng(seed)
    themes = list(Theme.objects.select_related("domain").order_by("id"))
    audiences = list(Audience.objects.order_by("id"))
    communes = list(Territory.objects.filter(kind=TerritoryKind.COMMUNE).order_by("code"))
    epcis = list(Territory.objects.filter(kind=TerritoryKind.EPCI).order_by("code"))
    if not themes or not communes:
        raise RuntimeError("Load the taxonomy and the territories first (manage.py load_demo or load_reference).")
    vocabulary = {theme.id: _words(theme.keywords) or [theme.label.lower()] for theme in themes}
    organisations = [
        Organisation.objects.get_or_create(
            slug=f"bench-{number}",
            defaults={
                "name": f"Organisation de test {number}",
                "kind": OrganisationKind.ASSOCIATION,
                "territory": communes[number % len(communes)],
            },
        )[0]
        for number in range(20)
    ]
    Through = Offer.themes.through
    AudienceThrough = Offer.audiences.through
    AreaThrough = Offer.service_area.through
    for start in range(0, offers, batch):
        size = min(batch, offers - start)
        rows, theme_links, audience_links, area_links = [], [], [], []
        for position in range(start, start + size):
            theme = themes[rng.integers(len(themes))]
            second = themes[rng.integers(len(themes))] if rng.random() < 0.3 else None
            words = vocabulary[theme.id]
            picked = rng.choice(words, size=min(len(words), 6), replace=False)
            commune = communes[rng.integers(len(communes))]
            noun = _NOUNS[rng.integers(len(_NOUNS))].capitalize()
            title = f"{noun} {picked[0]} {picked[1 % len(picked)]} de {commune.name}"
            description = (
                f"{theme.label} : {' '.join(picked[:4])} {_QUALIFIERS[rng.integers(len(_QUALIFIERS))]}. "
                f"{_OPENINGS[rng.integers(len(_OPENINGS))]} à {commune.name}. "
                f"Renseignements sur {' et '.join(picked[2:5]) or picked[0]}, "
                f"{_QUALIFIERS[rng.integers(len(_QUALIFIERS))]}."
            )
            status = "published" if rng.random() < 0.85 else ("draft" if rng.random() < 0.5 else "archived")
            rows.append(
                Offer(
                    title=title[:200],
                    description=description,
                    domain=theme.domain,
                    organisation=organisations[position % len(organisations)],
                    commune=commune,
                    latitude=commune.latitude + rng.normal(0, 0.01),
                    longitude=commune.longitude + rng.normal(0, 0.01),
                    is_free=True,
                    capacity=int(rng.integers(1, 60)) if rng.random() < 0.4 else None,
                    status=status,
                    source=BENCH_SOURCE,
                    external_id=f"bench-{position}",
                )
            )
            theme_links.append([theme.id] + ([second.id] if second and second.id != theme.id else []))
            audience_links.append(
                [audiences[rng.integers(len(audiences))].id] if audiences and rng.random() < 0.25 else []
            )
            area_links.append([epcis[rng.integers(len(epcis))].id] if epcis and rng.random() < 0.2 else [])
        with transaction.atomic():
            created = Offer.objects.bulk_create(rows)
            Through.objects.bulk_create(
                Through(offer_id=offer.id, theme_id=theme_id)
                for offer, ids in zip(created, theme_links, strict=True)
                for theme_id in ids
            )
            AudienceThrough.objects.bulk_create(
                AudienceThrough(offer_id=offer.id, audience_id=audience_id)
                for offer, ids in zip(created, audience_links, strict=True)
                for audience_id in ids
            )
            AreaThrough.objects.bulk_create(
                AreaThrough(offer_id=offer.id, territory_id=territory_id)
                for offer, ids in zip(created, area_links, strict=True)
                for territory_id in ids
            )
            catalogue_changed(offers=[offer.id for offer in created])  # bulk writes bypass the services
    NeedThrough = Need.themes.through
    for start in range(0, needs, batch):
        size = min(batch, needs - start)
        rows, theme_links = [], []
        for _position in range(start, start + size):
            theme = themes[rng.integers(len(themes))]
            words = vocabulary[theme.id]
            picked = rng.choice(words, size=min(len(words), 3), replace=False)
            statement = (
                f"{_NEED_OPENINGS[rng.integers(len(_NEED_OPENINGS))]} {' '.join(picked)} "
                f"{_NEED_ENDINGS[rng.integers(len(_NEED_ENDINGS))]}"
            )
            place = rng.random()
            territory = (
                communes[rng.integers(len(communes))]
                if place < 0.6
                else (epcis[rng.integers(len(epcis))] if place < 0.85 and epcis else None)
            )
            rows.append(
                Need(
                    audience=audiences[rng.integers(len(audiences))],
                    domain=theme.domain,
                    statement=statement,
                    territory=territory,
                    importance=float(rng.uniform(0.2, 1.0)),
                    satisfaction=float(rng.uniform(0.0, 1.0)) if rng.random() < 0.7 else None,
                    demand_volume=int(rng.integers(1, 200)) if rng.random() < 0.3 else None,
                    source=NeedSource.STUDY,
                    source_reference=BENCH_SOURCE,
                )
            )
            theme_links.append(theme.id)
        with transaction.atomic():
            created = Need.objects.bulk_create(rows)
            NeedThrough.objects.bulk_create(
                NeedThrough(need_id=need.id, theme_id=theme_id)
                for need, theme_id in zip(created, theme_links, strict=True)
            )


def bench_reader():
    """An unsaved superuser for the benchmarks and picture scripts that call the report builders directly: the
    builders take the caller, and an administrator sees every run whatever the territories."""
    from django.contrib.auth import get_user_model

    return get_user_model()(username="bench", is_staff=True, is_superuser=True)
