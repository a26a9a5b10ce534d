"""The code -> object cache of every upload (offers, needs, surveys): reference codes are resolved once per file."""

from django.utils.translation import gettext

from api.cells import CellError
from api.exceptions import InvalidInput
from offers.models import Audience, Domain, Organisation, Territory, Theme
from offers.selectors import territory_resolve


class CodeLookups:
    """Domains, themes and audiences read once, organisations and territories as they come, for one upload or batch
    of writes: validating 10,000 rows then costs a handful of queries, not one per code. Each lookup accepts the
    object itself or its code and raises CellError naming an unknown code."""

    def __init__(self):
        self.domains = {domain.code: domain for domain in Domain.objects.all()}
        # With their domain: a sync picks a record's domain from its themes' (no query per theme).
        self.themes = {theme.code: theme for theme in Theme.objects.select_related("domain")}
        self.audiences = {audience.code: audience for audience in Audience.objects.all()}
        self._organisations: dict[str, Organisation | None] = {}
        self._territories: dict[str, Territory | str] = {}  # a territory, or why the code does not resolve

    def domain(self, code) -> Domain:
        if isinstance(code, Domain):
            return code
        domain = self.domains.get(str(code).strip())
        if domain is None:
            raise CellError(
                gettext("Unknown domain %(code)s: use one of %(codes)s.")
                % {"code": repr(code), "codes": ", ".join(sorted(self.domains))}
            )
        return domain

    def theme(self, code) -> Theme:
        if isinstance(code, Theme):
            return code
        theme = self.themes.get(code)
        if theme is None:
            raise CellError(gettext("Unknown theme %(code)s (see /api/v1/taxonomy/).") % {"code": repr(code)})
        return theme

    def audience(self, code) -> Audience:
        if isinstance(code, Audience):
            return code
        audience = self.audiences.get(code)
        if audience is None:
            raise CellError(
                gettext("Unknown audience %(code)s: use one of %(codes)s.")
                % {"code": repr(code), "codes": ", ".join(sorted(self.audiences))}
            )
        return audience

    def organisation(self, slug) -> Organisation:
        if isinstance(slug, Organisation):
            return slug
        slug = str(slug).strip()
        if slug not in self._organisations:
            self._organisations[slug] = Organisation.objects.filter(slug=slug).first()
        organisation = self._organisations[slug]
        if organisation is None:
            raise CellError(gettext("No organisation has the slug %(slug)s.") % {"slug": repr(slug)})
        return organisation

    def territory(self, code) -> Territory:
        """By official code (`23096`, `200034825`, `departement:23`); the error says why a code does not resolve."""
        if isinstance(code, Territory):
            return code
        code = str(code).strip()
        if code not in self._territories:
            try:
                self._territories[code] = territory_resolve(code=code)
            except InvalidInput as exc:
                self._territories[code] = exc.errors[0].message
        found = self._territories[code]
        if isinstance(found, str):
            raise CellError(found)
        return found
