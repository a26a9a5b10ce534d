"""France Travail job offers: the JSON of the "Offres d'emploi" v2 API (`/offres/search` answers `{"resultats":
[...]}`; a bare list of offers is accepted too), read as job offers.

Field by field (the API's model, as published on francetravail.io and used by client libraries):
- `id` -> external_id (no id: skipped, `no_identifier`); `intitule` -> title (none: `no_title`).
- `description`, then one line each for the contract (`typeContratLibelle`), working time
  (`dureeTravailLibelle`), salary (`salaire.libelle`, `commentaire`, `complement1/2`: an offer without salary
  simply has no such line), experience, qualification, sector and employer (`entreprise.nom`, `description`):
  the description people search.
- domain: always "jobs" (Emploi et activité). categories: the ROME code (`romeCode`, "K2204"), its professional
  domain ("K22") and its grand domain ("K"), `contrat:<typeContrat>`, and `alternance` for a work-study contract.
  `default_theme_mapping`: every ROME grand domain -> salaried-job; `alternance` -> training (an apprenticeship is
  training as well as a job); `contrat:REP` (business to take over) -> business-takeover and `contrat:FRA`
  (franchise) -> business-creation. An analyst maps ROME families to other themes per source.
- audiences: students (Étudiants et apprentis) for a work-study contract; otherwise none, that is everyone.
- `lieuTravail`: `commune` (INSEE code, possibly of a commune that has since merged: the sync resolves it to its
  successor), `codePostal`, `latitude`/`longitude`, and `libelle` ("23 - GUERET"). Without a commune code the
  libellé decides: "23 - Creuse" names a département -> service area `departement:23` (not a commune); a région's
  name -> `region:<code>`; "France" -> `FR`; "23 - GUERET" -> commune name "GUERET (23)" (the form
  `communes_resolve` reads, restricted to the département); a foreign country -> skipped (`outside_france`),
  as are coordinates outside France. Nothing at all -> `no_place`.
- remote: an offer that says it is fully remote ("100 % télétravail", "télétravail complet", "full remote"...) in
  its title or description; partial telework is only noted in `extra["telework"]`.
- dates: `dateCreation` -> available_from: the offer is open from its publication, and the API drops an offer once
  filled, which the sync turns into an archive; there is no end date. `dateActualisation` -> extra.
- capacity: `nombrePostes`. price: none (a salary is not a price). url: `origineOffre.urlOrigine`, else
  `contact.urlPostulation`. contact: `contact.nom`, `courriel`, `telephone`, `coordonnees1-3`, the application URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from api.pure_i18n import gettext
from api.text import fold_text
from offers.source_formats.base import (
    CONTACT_MAX,
    EXTERNAL_ID_MAX,
    FRANCE,
    TITLE_MAX,
    RecordSkip,
    SourceRecord,
    checked_mapping,
    coordinates,
    cut,
    day,
    departement_area,
    external_id_of,
    identifier_too_long,
    insee_code,
    insee_names,
    is_departement_code,
    joined,
    json_document,
    no_identifier,
    no_place,
    no_title,
    not_an_object,
    outside_france,
    postal_code,
    region_area,
    text,
    web_url,
    whole_number,
    wrong_format,
)

# The ROME grand domains, A (agriculture) to N (transport and logistics).
ROME_GRAND_DOMAINS = "ABCDEFGHIJKLMN"
DETAIL_URL = "https://candidat.francetravail.fr/offres/recherche/detail/"
_ROME_CODE = re.compile(r"^[A-N]\d{4}$")
_LIBELLE = re.compile(r"^\s*(?P<code>\d{2}|2[AB]|97\d|99)\s*-\s*(?P<name>.+?)\s*$", re.IGNORECASE)
_FULL_REMOTE = re.compile(
    r"\b100\s+(pour\s*cent\s+)?(en\s+)?(teletravail|remote|a distance)"
    r"|teletravail\s+(complet|total|integral|a 100)|full\s+remote"
    r"|totalement\s+(en\s+)?teletravail|entierement\s+(en\s+)?teletravail"
)
_TELEWORK = re.compile(r"teletravail|remote")
_TELEWORK_HINT = re.compile(r"t[ée]l[ée][\s-]?travail|remote|distance", re.IGNORECASE)


class FranceTravailFormat:
    code = "france_travail"
    label = "France Travail (Offres d'emploi)"
    domain = "jobs"
    default_theme_mapping: Mapping[str, tuple[str, ...]] = checked_mapping(
        {
            **{letter: ("salaried-job",) for letter in ROME_GRAND_DOMAINS},
            "alternance": ("training",),
            "contrat:REP": ("business-takeover",),
            "contrat:FRA": ("business-creation",),
        }
    )

    def recognises(self, data: Any) -> bool:
        offers = data.get("resultats") if isinstance(data, dict) else data
        return isinstance(offers, list) and any(
            isinstance(offer, dict) and ("intitule" in offer or "lieuTravail" in offer) for offer in offers[:20]
        )

    def read(self, content: bytes, *, today: date) -> Iterator[SourceRecord | RecordSkip]:
        data = json_document(content, format_label=self.label)
        if isinstance(data, dict) and isinstance(data.get("resultats"), list):
            offers = data["resultats"]
        elif isinstance(data, list) and (not data or self.recognises(data)):
            offers = data
        else:
            raise wrong_format(
                data,
                expected=gettext("an object with a `resultats` list of offers, or a list of offers"),
                format_code=self.code,
            )
        for position, offer in enumerate(offers, start=1):
            yield self.record(offer, position=position)

    def record(self, offer: Any, *, position: int) -> SourceRecord | RecordSkip:
        if not isinstance(offer, dict):
            return not_an_object(position)
        external_id = external_id_of(offer.get("id"))
        if not external_id:
            return no_identifier(position)
        if len(external_id) > EXTERNAL_ID_MAX:
            return identifier_too_long(position, external_id)
        title = text(offer.get("intitule"))
        if not title:
            return no_title(position, external_id)
        place = _place(_object(offer.get("lieuTravail")))
        if isinstance(place, str):
            return outside_france(position, external_id, place)
        if not any(place.values()):
            return no_place(position, external_id)

        rome_code = text(offer.get("romeCode")).upper()
        categories = [rome_code, rome_code[:3], rome_code[:1]] if _ROME_CODE.match(rome_code) else []
        contract = text(offer.get("typeContrat")).upper()
        if contract:
            categories.append(f"contrat:{contract}")
        work_study = offer.get("alternance") is True
        if work_study:
            categories.append("alternance")

        salary = _object(offer.get("salaire"))
        salary_text = joined(
            text(salary.get(name)) for name in ("libelle", "commentaire", "complement1", "complement2")
        )
        company = _object(offer.get("entreprise"))
        description = text(offer.get("description"))
        # The offer's own words, in its language (French), whatever the language of whoever runs the sync.
        details = [
            ("Contrat", text(offer.get("typeContratLibelle")) or contract),
            ("Durée du travail", text(offer.get("dureeTravailLibelle"))),
            ("Salaire", salary_text),
            ("Expérience", text(offer.get("experienceLibelle"))),
            ("Qualification", text(offer.get("qualificationLibelle"))),
            ("Secteur", text(offer.get("secteurActiviteLibelle"))),
            ("Employeur", joined((text(company.get("nom")), text(company.get("description"))), " – ")),
        ]
        lines = [f"{label} : {value}" for label, value in details if value]
        description = "\n\n".join(part for part in (description, "\n".join(lines)) if part) or title

        said = f"{title} {description} {text(offer.get('complementExercice'))}"
        # Folding a whole description is the costliest step of a 50,000-offer file: only when telework is named.
        folded = fold_text(said) if _TELEWORK_HINT.search(said) else ""
        remote = bool(_FULL_REMOTE.search(folded))
        contact_block = _object(offer.get("contact"))
        application_url = web_url(contact_block.get("urlPostulation"))
        origin_url = web_url(_object(offer.get("origineOffre")).get("urlOrigine"))
        contact = joined(
            [
                text(contact_block.get(name))
                for name in ("nom", "courriel", "telephone", "coordonnees1", "coordonnees2", "coordonnees3")
            ]
            + [application_url if application_url != origin_url else ""]
        )
        positions = whole_number(offer.get("nombrePostes"))
        extra = {
            key: value
            for key, value in {
                # The offer's public page on France Travail's site (the record at its source).
                "source_url": f"{DETAIL_URL}{external_id}",
                "rome_code": rome_code,
                "rome_label": text(offer.get("romeLibelle")),
                "appellation": text(offer.get("appellationlibelle")),
                "contract_type": contract,
                "contract_nature": text(offer.get("natureContrat")),
                "experience_required": text(offer.get("experienceExige")),
                "salary": salary_text,
                "company": text(company.get("nom")),
                "company_url": web_url(company.get("url")),
                "updated_at": text(offer.get("dateActualisation")),
                "place_label": text(_object(offer.get("lieuTravail")).get("libelle")),
                "hard_to_fill": offer.get("offresManqueCandidats") is True,
                "telework": "full" if remote else ("mentioned" if _TELEWORK.search(folded) else ""),
            }.items()
            if value
        }
        return SourceRecord(
            external_id=external_id,
            title=cut(title, TITLE_MAX),
            description=description,
            categories=tuple(categories),
            domain=self.domain,
            audiences=("students",) if work_study else (),
            remote=remote,
            available_from=day(offer.get("dateCreation")),
            url=origin_url or application_url,
            contact=cut(contact, CONTACT_MAX),
            capacity=positions if positions is not None and positions >= 0 else None,
            extra=extra,
            **place,
        )


def _object(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _place(place: dict) -> dict | str:
    """The SourceRecord place fields of a `lieuTravail`, or the text saying where abroad it is."""
    latitude, longitude, inside = coordinates(place.get("latitude"), place.get("longitude"))
    label = text(place.get("libelle"))
    if not inside:
        return f"{label or '?'} ({place.get('latitude')}, {place.get('longitude')})"
    fields: dict[str, Any] = {
        "commune_code": insee_code(place.get("commune")),
        "postal_code": postal_code(place.get("codePostal")),
        "commune_name": None,
        "latitude": latitude,
        "longitude": longitude,
        "service_area": (),
    }
    match = _LIBELLE.match(label)
    code, name = (match["code"].upper(), match["name"]) if match else ("", label)
    if code == "99":
        return label  # "99 - BELGIQUE": France Travail's code for abroad
    if fields["commune_code"] or fields["postal_code"]:
        fields["commune_name"] = name or None
        return fields
    departements, regions = insee_names()
    folded = fold_text(name)
    if folded in ("france", "france entiere"):
        fields["service_area"] = (FRANCE,)
    elif departements.get(folded) and (not code or departements[folded] == code):
        fields["service_area"] = (departement_area(departements[folded]),)
    elif regions.get(folded) and (not code or regions[folded] == code):
        fields["service_area"] = (region_area(regions[folded]),)
    elif code and is_departement_code(code) and name:
        fields["commune_name"] = f"{name} ({code})"
    elif name and not code and latitude is None:
        if _looks_foreign(folded):
            return label
        fields["commune_name"] = name
    return fields


# Countries France Travail writes as a work place for offers abroad (without the "99 -" prefix in some exports).
_FOREIGN = frozenset(
    fold_text(name)
    for name in (
        "Allemagne",
        "Belgique",
        "Espagne",
        "Italie",
        "Luxembourg",
        "Monaco",
        "Suisse",
        "Royaume-Uni",
        "Pays-Bas",
        "Portugal",
        "Irlande",
        "Canada",
        "Andorre",
    )
)


def _looks_foreign(folded: str) -> bool:
    return folded in _FOREIGN


FRANCE_TRAVAIL = FranceTravailFormat()
