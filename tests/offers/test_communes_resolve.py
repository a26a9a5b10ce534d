"""offers.selectors.communes_resolve: what people write for a commune (INSEE code, postal code, name)."""

import pytest

from offers.models import Territory, TerritoryPostalCode
from offers.selectors import communes_resolve

pytestmark = pytest.mark.django_db


def commune(code: str) -> Territory:
    return Territory.objects.get(kind="commune", code=code)


def test_insee_code_name_and_name_with_departement():
    gueret = commune("23096")
    resolved = communes_resolve(["23096", "Guéret", "gueret", "GUERET (23)", " 23096 "])
    assert resolved == {"23096": gueret, "Guéret": gueret, "gueret": gueret, "GUERET (23)": gueret, " 23096 ": gueret}


def test_postal_code_of_one_commune_and_of_several():
    gueret, aubusson, felletin = commune("23096"), commune("23008"), commune("23079")
    TerritoryPostalCode.objects.create(code="23000", territory=gueret)
    TerritoryPostalCode.objects.create(code="23200", territory=aubusson)
    TerritoryPostalCode.objects.create(code="23200", territory=felletin)
    assert "is both the INSEE code" in communes_resolve(["23200"])["23200"]  # 23200 is also a commune's INSEE code
    resolved = communes_resolve(["23000", "23200"], kind="postal_code")
    assert resolved["23000"] == gueret
    # Shared by two communes: the smallest territory holding both, never one of them picked at random.
    shared = resolved["23200"]
    assert aubusson.path.startswith(shared.path) and felletin.path.startswith(shared.path)
    assert shared.kind in {"epci", "departement"}


def test_merged_commune_resolves_to_its_successor():
    gueret, other = commune("23096"), commune("23001")
    other.successor = gueret
    other.save(update_fields=["successor"])
    assert communes_resolve(["23001"])["23001"] == gueret


def test_unknown_values_and_forced_kind_say_why():
    resolved = communes_resolve(["99999", "Atlantis"], kind="auto")
    assert "not a known" in resolved["99999"] and "not a known" in resolved["Atlantis"]
    assert "not a known postal code" in communes_resolve(["23096"], kind="postal_code")["23096"]


def test_within_restricts_names():
    epci = commune("23096").parent
    outside = Territory.objects.filter(kind="commune").exclude(path__startswith=epci.path).first()
    assert isinstance(communes_resolve([outside.name], within=epci)[outside.name], str)
