"""Fixtures of the matching tests: a hand-built catalogue with one need of each kind (create, adjust for distance,
adjust for audience, promote, maintain), and a helper that scores a run's chunks in this process."""

import pytest

from matching.models import ChunkStatus, MatchingChunk
from matching.services import chunk_score
from tests.audiences.factories import make_need
from tests.matching.factories import make_offer


def run_chunks(run) -> None:
    """Score a run's queued chunks in this process through the worker's service (what `db_worker` does)."""
    for _ in range(100):
        queued = list(
            MatchingChunk.objects.filter(run=run, status=ChunkStatus.QUEUED)
            .order_by("index")
            .values_list("id", flat=True)
        )
        if not queued:
            return
        for chunk_id in queued:
            chunk_score(chunk_id=chunk_id)


@pytest.fixture
def catalogue(reference):
    """Offers around Guéret (23096); Bourganeuf (23030) is about 30 km away."""
    offers = {
        "health": make_offer(
            title="Maison de santé pluridisciplinaire de Guéret",
            description="Médecins généralistes, infirmiers et kinésithérapeutes : consultations de médecine générale.",
            themes=("health-care",),
        ),
        "creche": make_offer(
            title="Micro-crèche de l'hôpital de Guéret",
            description="Garde d'enfants de 10 semaines à 3 ans réservée aux enfants du personnel soignant.",
            themes=("childcare",),
            audiences=("health-professionals",),
        ),
        "pool": make_offer(
            title="Piscine municipale et club de natation de Guéret",
            description="Piscine couverte, bassin sportif, leçons de natation et club de natation pour tous.",
            themes=("sport",),
        ),
        "fibre": make_offer(
            title="Raccordement à la fibre optique très haut débit",
            description="Accès internet très haut débit par la fibre pour les particuliers et les entreprises.",
            themes=("digital",),
            service_area=("23",),
        ),
        "draft": make_offer(
            title="Festival de musique d'été",
            description="Concerts en plein air tout l'été.",
            themes=("cultural-event",),
            status="draft",
        ),
    }
    needs = {
        "create": make_need(
            statement="Reprendre une boulangerie à céder dans un bourg",
            themes=("business-takeover",),
            audience="entrepreneurs",
            territory="23096",
            importance=0.7,
        ),
        "distance": make_need(
            statement="Consulter un médecin généraliste près de chez moi",
            themes=("health-care",),
            territory="23030",
            importance=0.9,
            satisfaction=0.3,
        ),
        "audience": make_need(
            statement="Faire garder mes enfants en crèche pendant que je travaille",
            themes=("childcare",),
            territory="23096",
            importance=0.85,
            satisfaction=0.2,
        ),
        "promote": make_need(
            statement="Une piscine et un club de natation pour les enfants",
            themes=("sport",),
            territory="23096",
            importance=0.5,
            satisfaction=0.2,
        ),
        "maintain": make_need(
            statement="Un accès internet très haut débit par la fibre",
            themes=("digital",),
            territory="23096",
            importance=0.6,
            satisfaction=0.9,
        ),
    }
    return offers, needs
