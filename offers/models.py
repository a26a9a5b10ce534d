"""The territory's service offer, and the reference data offers and needs share: territories, taxonomy, audiences.

Audiences live here rather than in audiences/ because offers target them: offers/ must never import audiences/.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from api.choices import TaskStatus
from offers.validators import DataInclusionCodesValidator, data_inclusion_codes_check


class TerritoryKind(models.TextChoices):
    # The whole country: the service area of national offers (delivered at a distance, or anywhere in France).
    COUNTRY = "country", _("Country")
    REGION = "region", _("Region")
    DEPARTEMENT = "departement", _("Département")
    EPCI = "epci", _("Intercommunality (EPCI)")
    COMMUNE = "commune", _("Commune")
    # A territory of the strategy itself (Cornouaille, an agglomeration and its neighbour promoting together):
    # a named set of EPCIs and/or communes, outside the administrative tree.
    CUSTOM = "custom", _("Project territory")


class Territory(models.Model):
    """A region, département, EPCI or commune, addressed by its official code (INSEE, or SIREN for EPCIs).

    `path` is a materialised path from the region down (built and read by offers.territory_paths), so "everything
    below X" is `path__startswith=X.path` on an indexed column, whatever the kind of X.
    """

    kind = models.CharField(max_length=16, choices=TerritoryKind.choices)
    code = models.CharField(
        max_length=40,
        help_text="INSEE code (region, département, commune), SIREN (EPCI), or the slug of a custom territory.",
    )
    name = models.CharField(max_length=150)
    name_folded = models.CharField(max_length=150, editable=False, db_index=True, help_text="Accent-folded name.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=80, unique=True, editable=False)
    latitude = models.FloatField(null=True, blank=True, help_text="Centroid latitude (WGS 84).")
    longitude = models.FloatField(null=True, blank=True, help_text="Centroid longitude (WGS 84).")
    population = models.PositiveIntegerField(
        null=True, blank=True, help_text="Municipal population (communes, EPCIs), summed for départements and régions."
    )
    # Every path prefix the territory covers, when `path` alone does not: an EPCI straddling two départements
    # (its communes sit under both), a custom territory (its members' paths). Empty = [path].
    area_paths = models.JSONField(default=list, blank=True, editable=False)
    # A commune merged into another is kept (offers, needs and responses may point to it), marked by its successor.
    successor = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="predecessors",
        help_text="The commune this one was merged into; empty for a current territory.",
    )
    # Gone from the official geography (merged away, or an EPCI dissolved) but kept for what points to it:
    # resolvers and lists leave it out.
    retired = models.BooleanField(
        default=False, help_text="No longer in the official geography (see successor when it was merged)."
    )
    # Custom territories only: the EPCIs and communes they are made of.
    members = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="custom_territories")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The analysts of this territory's team: they see the needs, surveys and runs lying within it (a région's
    # analysts see everything below it); see offers.selectors.analyst_scope.
    analysts = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="analyst_territories",
        help_text="Analysts of this territory's team: they see its needs, surveys and matching runs, and those of "
        "every territory below it.",
    )

    class Meta:
        ordering = ["path"]
        verbose_name = _("territory")
        verbose_name_plural = _("territories")
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="territory_kind_code_unique")]
        indexes = [models.Index(fields=["kind", "name"], name="territory_kind_name_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()} {self.code})"

    @property
    def qualified_code(self) -> str:
        return f"{self.kind}:{self.code}"

    @property
    def paths(self) -> list[str]:
        """The path prefixes whose territories lie in this one (see `area_paths`)."""
        return list(self.area_paths) or [self.path]


class TerritoryPostalCode(models.Model):
    """A postal code of a commune: a code may serve several communes and a commune have several codes."""

    code = models.CharField(max_length=5, db_index=True)
    territory = models.ForeignKey(Territory, on_delete=models.CASCADE, related_name="postal_codes")

    class Meta:
        ordering = ["code", "territory"]
        verbose_name = _("postal code")
        verbose_name_plural = _("postal codes")
        constraints = [
            models.UniqueConstraint(fields=["code", "territory"], name="territory_postal_code_unique"),
        ]

    def __str__(self) -> str:
        return self.code


class Domain(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    label = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("domain")
        verbose_name_plural = _("domains")

    def __str__(self) -> str:
        return self.label


class Theme(models.Model):
    code = models.SlugField(max_length=48, unique=True)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="themes")
    label = models.CharField(max_length=100)
    keywords = models.TextField(blank=True, help_text="Everyday vocabulary of the theme, indexed for matching.")
    data_inclusion_codes = models.JSONField(
        default=list,
        blank=True,
        validators=[DataInclusionCodesValidator("thematiques")],
        help_text="data·inclusion thématiques mapped.",
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["domain__position", "position", "code"]
        verbose_name = _("theme")
        verbose_name_plural = _("themes")

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        _data_inclusion_codes_clean(self)


def _data_inclusion_codes_clean(instance: models.Model) -> None:
    if instance.data_inclusion_codes in instance._meta.get_field("data_inclusion_codes").empty_values:
        try:  # full_clean skipped the field's validators for this empty value ("", {}, None)
            data_inclusion_codes_check(instance.data_inclusion_codes, model=type(instance))
        except ValidationError as exc:
            raise ValidationError({"data_inclusion_codes": exc.messages}) from exc


class Audience(models.Model):
    """A target audience (segment): families, remote workers, retirees… Teams may add their own."""

    code = models.SlugField(max_length=48, unique=True)
    label = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    data_inclusion_codes = models.JSONField(
        default=list,
        blank=True,
        validators=[DataInclusionCodesValidator("publics")],
        help_text="data·inclusion publics mapped: codes of offers/data/taxonomies/data-inclusion-publics.json.",
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("target audience")
        verbose_name_plural = _("target audiences")

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        _data_inclusion_codes_clean(self)


class OrganisationKind(models.TextChoices):
    LOCAL_AUTHORITY = "local-authority", _("Local authority")
    PUBLIC_BODY = "public-body", _("Public body or institution")
    ASSOCIATION = "association", _("Association")
    COMPANY = "company", _("Company")
    OTHER = "other", _("Other")


class Organisation(models.Model):
    """A provider of offers (tourist office, employment agency, association, landlord…); editors belong to it."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=32, choices=OrganisationKind.choices)
    territory = models.ForeignKey(Territory, on_delete=models.PROTECT, related_name="organisations")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    website = models.URLField(blank=True)
    editors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="organisations")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class OfferStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


# Metropolitan France with Corsica, and the overseas départements: (lat_min, lat_max, lon_min, lon_max).
FRANCE_BOUNDS = (
    (41.3, 51.2, -5.3, 9.7),  # metropole and Corsica
    (15.8, 16.6, -61.9, -60.9),  # Guadeloupe
    (14.3, 14.9, -61.3, -60.7),  # Martinique
    (2.1, 5.8, -54.7, -51.5),  # Guyane
    (-21.5, -20.8, 55.1, 55.9),  # La Réunion
    (-13.1, -12.6, 44.9, 45.4),  # Mayotte
    # Overseas collectivities, whose communes are in the geography files too (most without a known centroid).
    (46.7, 47.2, -56.5, -56.1),  # Saint-Pierre-et-Miquelon
    (17.8, 18.2, -63.2, -62.7),  # Saint-Barthélemy, Saint-Martin
    (-14.5, -13.1, -178.3, -176.0),  # Wallis-et-Futuna
    (-28.0, -7.8, -154.8, -134.4),  # Polynésie française
    (-23.0, -19.5, 163.5, 168.2),  # Nouvelle-Calédonie
)


def is_in_france(latitude: float, longitude: float) -> bool:
    return any(
        lat_min <= latitude <= lat_max and lon_min <= longitude <= lon_max
        for lat_min, lat_max, lon_min, lon_max in FRANCE_BOUNDS
    )


class Offer(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField()
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="offers")
    themes = models.ManyToManyField(Theme, related_name="offers")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="offers")
    # An offer has a place (commune, coordinates), a service area, or both (offers.services.offer_validate): a
    # national online service or a téléconsultation has no place, only the territories it serves.
    commune = models.ForeignKey(
        Territory,
        on_delete=models.PROTECT,
        related_name="offers",
        limit_choices_to={"kind": TerritoryKind.COMMUNE},
        null=True,
        blank=True,
        help_text="Commune where the offer takes place; empty for an offer without a place (see service_area).",
    )
    latitude = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)])
    remote = models.BooleanField(
        default=False,
        help_text="Delivered at a distance (online, by phone, at home): reachable anywhere in its service area.",
    )
    service_area = models.ManyToManyField(
        Territory, related_name="served_offers", blank=True, help_text="Territories the offer serves."
    )
    audiences = models.ManyToManyField(Audience, related_name="offers", blank=True, help_text="None = everyone.")
    is_free = models.BooleanField(default=False)
    price_amount = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    price_details = models.CharField(max_length=200, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    capacity_unit = models.CharField(max_length=50, blank=True)
    available_from = models.DateField(null=True, blank=True)
    available_until = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=OfferStatus.choices, default=OfferStatus.DRAFT)
    url = models.URLField(max_length=500, blank=True)
    contact = models.CharField(max_length=300, blank=True)
    accessibility = models.TextField(blank=True)
    source = models.SlugField(max_length=64, default="manual")
    external_id = models.CharField(max_length=128, blank=True)
    # Provenance of an offer kept in sync with a source (empty for offers made by editors): the source, the link to
    # the record there, and the last sync whose file held it.
    origin = models.ForeignKey(
        "Source",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="offers",
        help_text="The source this offer is kept in sync with; empty for offers made by editors.",
    )
    source_url = models.URLField(max_length=500, blank=True, help_text="The record's page at its source.")
    last_sync = models.ForeignKey(
        "SourceSync",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The last sync of its source whose file held this offer.",
    )
    search_text = models.TextField(blank=True, editable=False, help_text="Accent-folded text used for search.")
    # The catalogue version (CatalogueVersion.version) of the last write that changed this offer: the live matching
    # index reads the offers changed since the version it holds (`catalogue_seq > held`) instead of refitting.
    catalogue_seq = models.BigIntegerField(default=0, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        constraints = [
            # Scoped to the organisation: one organisation's import key never blocks (nor reveals) another's.
            models.UniqueConstraint(
                fields=["organisation", "source", "external_id"],
                condition=~models.Q(external_id=""),
                name="offer_organisation_source_external_id_unique",
                violation_error_code="duplicate",
                violation_error_message=_("This organisation already has an offer with this source and external_id."),
            ),
            models.CheckConstraint(
                condition=models.Q(available_until__isnull=True)
                | models.Q(available_from__isnull=True)
                | models.Q(available_until__gte=models.F("available_from")),
                name="offer_available_range_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["latitude", "longitude"], name="offer_lat_lon_idx"),
            models.Index(fields=["status", "domain"], name="offer_status_domain_idx"),
            # The default order of lists (a page of 20 without sorting every row) and the list summary
            # (count + latest change of the visible offers, from the index alone).
            models.Index(fields=["title", "id"], name="offer_title_id_idx"),
            models.Index(fields=["status", "updated_at"], name="offer_status_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if (
            self.latitude is not None
            and self.longitude is not None
            and not is_in_france(self.latitude, self.longitude)
        ):
            errors.setdefault("latitude", []).append(
                gettext("(%(latitude)s, %(longitude)s) is outside France (metropole, Corsica, overseas départements).")
                % {"latitude": self.latitude, "longitude": self.longitude}
            )
        if self.available_from and self.available_until and self.available_until < self.available_from:
            errors.setdefault("available_until", []).append(
                gettext("available_until must be on or after available_from.")
            )
        if not self.is_free and self.price_amount is None and not self.price_details:
            errors.setdefault("price_amount", []).append(
                gettext("A paid offer needs a price_amount or price_details.")
            )
        if self.is_free and self.price_amount:
            errors.setdefault("price_amount", []).append(gettext("A free offer cannot have a price_amount."))
        if self.capacity_unit and self.capacity is None:
            errors.setdefault("capacity", []).append(gettext("capacity_unit is set but capacity is missing."))
        if errors:
            raise ValidationError(errors)


class CatalogueVersion(models.Model):
    """A single row whose `version` goes up with every change to the catalogue made through offers.services (and
    the admin, which calls them): with the latest `Offer.updated_at` it keys list ETags and cached list counts, so
    deletions and organisation renames, which change no remaining offer's `updated_at`, are seen too."""

    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(null=True, blank=True)
    # The same for what anonymous callers see (published offers, organisations, reference data): their ETags key on
    # it, so that editing a hidden draft changes nothing they can observe.
    public_version = models.BigIntegerField(default=0)
    public_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("catalogue version")
        verbose_name_plural = _("catalogue versions")

    def __str__(self) -> str:
        return f"catalogue v{self.version}"


class OfferRemoval(models.Model):
    """An offer deleted at catalogue version `seq`: what the live matching index drops from the rows it holds (a
    deleted offer leaves no row to stamp). Rows older than every index snapshot can be purged."""

    offer_id = models.BigIntegerField()
    seq = models.BigIntegerField(db_index=True)

    class Meta:
        verbose_name = _("offer removal")
        verbose_name_plural = _("offer removals")

    def __str__(self) -> str:
        return f"offer {self.offer_id} removed at v{self.seq}"


class Source(models.Model):
    """A published feed of offers (France Travail, DATAtourisme, OpenAgenda, data·inclusion...) kept in sync with
    the catalogue: each sync reconciles the source's offers with its file (offers.services.sources)."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="sources",
        help_text="The organisation the offers of this source belong to.",
    )
    code = models.SlugField(
        max_length=64, unique=True, help_text="Stable short name; the `source` of its offers (filter offers by it)."
    )
    name = models.CharField(max_length=200)
    format = models.CharField(max_length=32, help_text="Code of the format its files are in (offers.source_formats).")
    url = models.URLField(max_length=1000, blank=True, help_text="Where the worker fetches the file; empty = uploads.")
    theme_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text="{source category: [theme codes]} applied over the format's default mapping ([] = leave out).",
    )
    failure_share_max = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Share of skipped records above which a sync fails whole (the file is probably wrong).",
    )
    fetch_timeout_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(3600)], help_text="Timeout of URL fetches."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self) -> str:
        return self.name


class SyncTrigger(models.TextChoices):
    UPLOAD = "upload", _("File upload")
    URL = "url", _("Fetch of the source's URL")
    COMMAND = "command", _("Command line")


SyncStatus = TaskStatus  # a source sync is a background task like a matching run


class SourceSync(models.Model):
    """One reconciliation of a source's offers with a file: progress while it runs, then its counts and the records
    it skipped, or why it failed (then nothing was written)."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="syncs")
    trigger = models.CharField(max_length=16, choices=SyncTrigger.choices)
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The uploaded file, kept until the worker has read it.
    upload = models.BinaryField(null=True, blank=True, editable=False)
    phase = models.CharField(
        max_length=16, blank=True, help_text="fetching, reading, checking, writing while it runs; empty once done."
    )
    records_read = models.PositiveIntegerField(default=0)
    records_total = models.PositiveIntegerField(null=True, blank=True, help_text="Known once the file is read.")
    records_checked = models.PositiveIntegerField(default=0, help_text="Records mapped and validated so far.")
    progressed_at = models.DateTimeField(null=True, blank=True, help_text="Last progress written by the worker.")
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    archived = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # [{position, external_id, code, message}], the first SOURCE_SYNC_SKIPPED_LISTED of them (`skipped` counts all).
    skipped_records = models.JSONField(default=list, blank=True)
    failure_code = models.CharField(max_length=32, blank=True)
    failure_message = models.TextField(blank=True)
    catalogue_version = models.BigIntegerField(
        null=True, blank=True, help_text="The catalogue version its writes produced (none when nothing changed)."
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("source sync")
        verbose_name_plural = _("source syncs")
        constraints = [
            # One sync at a time per source: a second is refused (409) while one is queued or running.
            models.UniqueConstraint(
                fields=["source"],
                condition=models.Q(status__in=["queued", "running"]),
                name="source_sync_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source.code} sync {self.pk} ({self.status})"
