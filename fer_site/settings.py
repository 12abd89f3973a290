"""All settings, from the environment, with safe defaults for development.

Unset `DATABASE_URL` and `REDIS_URL` give the embedded set-up (a SQLite file, Channels'
in-memory layer, Celery over kombu's filesystem transport): nothing to install or start.
Set them and the same code runs on PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from channels_redis.core import RedisChannelLayer
from django.core.exceptions import ImproperlyConfigured

from fer_site.env import check_production, env_bool, env_int, env_list, env_rate
from fer_site.mail import email_settings

BASE_DIR = Path(__file__).resolve().parent.parent


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "django-insecure-development-key-do-not-use-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",  # first: makes `runserver` an ASGI server for HTTP and WebSocket
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI files served locally, never from a CDN
    "accounts",
    "emotions",
    "training",
    "bench",  # tools: the benchmark and load-test commands (needs requirements-dev.txt)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "fer_site.urls"
WSGI_APPLICATION = "fer_site.wsgi.application"
ASGI_APPLICATION = "fer_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Database: SQLite file unless DATABASE_URL is set -------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
DATABASES = {
    # CONN_MAX_AGE 0: under ASGI each request runs in a context of its own, so Django advises against
    # persistent connections (the live detection writer keeps one of its own: emotions.consumers).
    # Health checks: with CONN_MAX_AGE set, a kept connection that died is replaced before its use.
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 0), conn_health_checks=True)
    if DATABASE_URL
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # give up on an unreachable or silent server in seconds
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, Celery broker/results and cache, or their embedded stand-ins -----
REDIS_URL = os.environ.get("REDIS_URL", "")
CHANNEL_LAYER_BLOCKING_READ_SECONDS = RedisChannelLayer.brpop_timeout
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

# Seconds a Redis read may wait. channels_redis blocks up to 5 s on each read of a socket's channel
# (BZPOPMIN), and redis-py >= 8 gives up on reads after 5 s by default: every live socket was
# closed after ~5 s. Reads get this much room; it must stay above that blocking time.
REDIS_SOCKET_TIMEOUT = env_int("REDIS_SOCKET_TIMEOUT", 30)
if REDIS_SOCKET_TIMEOUT <= CHANNEL_LAYER_BLOCKING_READ_SECONDS:
    raise ImproperlyConfigured(
        f"REDIS_SOCKET_TIMEOUT must exceed the channel layer's {CHANNEL_LAYER_BLOCKING_READ_SECONDS} s blocking reads"
    )

if REDIS_URL:
    CHANNEL_LAYERS = {"default": {
        "BACKEND": "fer_site.channel_layers.ResilientRedisChannelLayer",
        "CONFIG": {"hosts": [
            {"address": REDIS_URL, "socket_timeout": REDIS_SOCKET_TIMEOUT, "socket_connect_timeout": 5},
        ]},
    }}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600),
                                       "socket_connect_timeout": 5}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_QUEUE_DIR = VAR_DIR / "celery"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Producer and worker share one folder: kombu's filesystem transport needs no server.
        "data_folder_in": str(CELERY_QUEUE_DIR / "queue"),
        "data_folder_out": str(CELERY_QUEUE_DIR / "queue"),
        "processed_folder": str(CELERY_QUEUE_DIR / "processed"),
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{CELERY_QUEUE_DIR / 'results'}"
    for _folder in ("queue", "processed", "control", "results"):
        (CELERY_QUEUE_DIR / _folder).mkdir(parents=True, exist_ok=True)

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Queuing a job when the broker is down fails within a few seconds (the job is recorded as failed
# and the admin or API says the queue is down) instead of hanging the request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
# Housekeeping, run by the worker started with beat (`-B`): sessions whose process died are ended,
# training jobs whose worker is gone are queued again (or ended, if a cancel was asked for).
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-sessions": {"task": "emotions.sweep_stale_sessions", "schedule": 60.0},
    "recover-lost-training-jobs": {"task": "training.recover_lost_jobs", "schedule": 60.0},
    "delete-expired-sessions": {"task": "emotions.delete_expired_sessions", "schedule": 3600.0},  # retention
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Auth ------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "live"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media files -----------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Security (production: DEBUG=False behind TLS) -------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
X_FRAME_OPTIONS = "DENY"

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Emotion recognition API",
    "DESCRIPTION": "Live sessions, detections, statistics, predictions, model versions and training jobs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"EmotionEnum": "emotions.models.EMOTION_CHOICES"},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "fer_site.openapi.document_error_responses"],  # 401/403/404/429 everywhere
}

# --- Recognition and training ------------------------------------------------------------------
EMOTION_MODEL_DIR = Path(os.environ.get("EMOTION_MODEL_DIR", BASE_DIR / "models" / "shipped"))
FACE_DETECTOR = os.environ.get("FACE_DETECTOR", "haar")  # "haar" or "yunet"
YUNET_MODEL_PATH = os.environ.get("YUNET_MODEL_PATH", "")
EMOTION_CLASSIFIER_THREADS = env_int("EMOTION_CLASSIFIER_THREADS", 1)  # LiteRT threads per batched invoke
FER2013_PATH = Path(os.environ.get("FER2013_PATH", BASE_DIR.parent / "shared" / "data" / "fer2013" / "fer2013.npz"))
# FER+ votes for FER-2013's images: retrain jobs may train towards them (option soft_label_weight).
FERPLUS_VOTES_PATH = Path(os.environ.get("FERPLUS_VOTES_PATH",
                                         BASE_DIR.parent / "shared" / "data" / "ferplus" / "fer2013new.csv"))
# Folders that hold data sets an admin may pick for retraining (comma-separated).
TRAINING_DATA_ROOTS = [Path(p) for p in env_list("TRAINING_DATA_ROOTS", str(FER2013_PATH.parent))]
TRAINING_ARTIFACTS_DIR = Path(os.environ.get("TRAINING_ARTIFACTS_DIR", VAR_DIR / "models"))
# A running job's worker stamps a heartbeat every TRAINING_HEARTBEAT_SECONDS; a job without one for
# TRAINING_HEARTBEAT_TIMEOUT seconds has lost its worker, and the periodic recovery queues it again
# (it resumes from its last checkpoint on whichever worker takes it).
TRAINING_HEARTBEAT_SECONDS = env_int("TRAINING_HEARTBEAT_SECONDS", 30)
TRAINING_HEARTBEAT_TIMEOUT = env_int("TRAINING_HEARTBEAT_TIMEOUT", 180)
if not 0 < 2 * TRAINING_HEARTBEAT_SECONDS <= TRAINING_HEARTBEAT_TIMEOUT:
    raise ImproperlyConfigured("TRAINING_HEARTBEAT_TIMEOUT must be at least twice TRAINING_HEARTBEAT_SECONDS")
# The Celery queue training jobs go to (empty: Celery's default queue). `make prod` gives training a
# queue of its own, so that its long jobs never hold up the periodic housekeeping tasks.
TRAINING_QUEUE = os.environ.get("TRAINING_QUEUE", "")
# Threads a training worker computes with (0: TensorFlow's choice, all cores). `make prod` runs its
# training worker on 1 thread at low priority, so live sessions on the same machine keep their pace.
TRAINING_THREADS = env_int("TRAINING_THREADS", 0)
# --- Live sessions ------------------------------------------------------------------------------
# A page whose socket dropped may resume its session for this long after its last sign of life.
SESSION_RESUME_SECONDS = env_int("SESSION_RESUME_SECONDS", 300)
# A live connection tells the database it is alive this often; a running session not seen for
# SESSION_STALE_SECONDS is ended by the sweep (its process died).
SESSION_KEEPALIVE_SECONDS = env_int("SESSION_KEEPALIVE_SECONDS", 60)
SESSION_STALE_SECONDS = env_int("SESSION_STALE_SECONDS", 600)
if not 0 < SESSION_KEEPALIVE_SECONDS < min(SESSION_STALE_SECONDS, SESSION_RESUME_SECONDS):
    raise ImproperlyConfigured(
        "SESSION_KEEPALIVE_SECONDS must be positive and below SESSION_STALE_SECONDS and SESSION_RESUME_SECONDS"
    )
# How long detections that could not be written (the database is down) are retried at the end of
# a session before the process gives up, counts them as lost on the session, and logs the count.
SESSION_WRITE_RETRY_SECONDS = env_int("SESSION_WRITE_RETRY_SECONDS", 300)
# Sessions (with their detections and video files) that started more than this many days ago are
# deleted by an hourly beat task; 0, the default, keeps them until their user deletes them.
DETECTION_RETENTION_DAYS = env_int("DETECTION_RETENTION_DAYS", 0)
if DETECTION_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("DETECTION_RETENTION_DAYS must be 0 (off) or a number of days")

# Face tracks (issue 15): a live page draws each face's box and probabilities averaged over its last
# TRACK_SMOOTHING_FRAMES frames (1: as found); a face missed in up to TRACK_GRACE_FRAMES frames in a row
# keeps its number ("Face 2"), after that it is a new face. The raw values are what is stored.
TRACK_SMOOTHING_FRAMES = env_int("TRACK_SMOOTHING_FRAMES", 5)
TRACK_GRACE_FRAMES = env_int("TRACK_GRACE_FRAMES", 10)
if TRACK_SMOOTHING_FRAMES < 1 or TRACK_GRACE_FRAMES < 0:
    raise ImproperlyConfigured("TRACK_SMOOTHING_FRAMES must be at least 1 and TRACK_GRACE_FRAMES at least 0")
MAX_FRAME_BYTES = env_int("MAX_FRAME_BYTES", 2 * 1024 * 1024)
PREDICT_MAX_BYTES = env_int("PREDICT_MAX_BYTES", 8 * 1024 * 1024)  # one image sent to POST /api/predict/
# The ASGI server lets WebSocket messages up to twice the frame limit reach the consumer, so that it
# answers a frame over the limit with an error; a larger message closes the socket with 1009. Every
# server reads this one value: `python -m fer_site.asgi_server` (make run, make prod) and `runserver`.
WEBSOCKET_MAX_MESSAGE_BYTES = MAX_FRAME_BYTES * 2
DAPHNE_WEBSOCKET_MAX_MESSAGE_SIZE = DAPHNE_WEBSOCKET_MAX_FRAME_SIZE = WEBSOCKET_MAX_MESSAGE_BYTES
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)

# --- Video analysis (issue 17) -------------------------------------------------------------------
VIDEO_MAX_BYTES = env_int("VIDEO_MAX_BYTES", 500 * 1024 * 1024)  # one file sent to POST /api/videos/
VIDEO_MAX_SECONDS = env_int("VIDEO_MAX_SECONDS", 2 * 3600)  # longest span of a video analysed
VIDEO_MAX_PIXELS = env_int("VIDEO_MAX_PIXELS", 3840 * 2160)  # a frame with more pixels (8K) is refused
VIDEO_UPLOAD_DIR = Path(os.environ.get("VIDEO_UPLOAD_DIR", VAR_DIR / "videos"))  # private: never served
# Celery queue of video jobs (empty: the default queue, shared with training jobs, which take hours;
# give videos a worker of their own with `celery -A fer_site worker -Q videos` and VIDEO_QUEUE=videos).
VIDEO_QUEUE = os.environ.get("VIDEO_QUEUE", "")
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update({  # "kind" and "state" are also training job fields
    "SessionKindEnum": "emotions.models.CaptureSession.Kind",
    "TrainingJobKindEnum": "training.models.TrainingJob.Kind",
    "VideoStateEnum": "emotions.models.VideoAnalysis.State",
})

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Hostile clients (issue 14): limits on what a client may make the server do ---------------
# The largest live frame in pixels, checked in the image header before decoding (a webcam frame
# is far smaller: the live page sends at most 640x480); the predict API has its own, larger limit.
MAX_FRAME_PIXELS = env_int("MAX_FRAME_PIXELS", 1920 * 1080)
PREDICT_MAX_PIXELS = env_int("PREDICT_MAX_PIXELS", 4096 * 4096)
# Refused messages in a row after which a live socket is closed (code 4400).
LIVE_MAX_BAD_MESSAGES = env_int("LIVE_MAX_BAD_MESSAGES", 20)
# Rate limits. API: DRF throttles (fer_site.throttles), "N/second|minute|hour|day" or "off", counted in
# the default cache (Redis when configured); exceeded: 429 with Retry-After.
API_THROTTLE_RATES = {
    "anon": env_rate("API_RATE_ANON", "60/minute"),  # per client address, requests without a user
    "user": env_rate("API_RATE_USER", "600/minute"),  # per user, all endpoints
    "predict": env_rate("API_RATE_PREDICT", "30/minute"),  # per user, POST /api/predict/
}
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["fer_site.throttles.AnonThrottle", "fer_site.throttles.UserThrottle"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = API_THROTTLE_RATES
# Whose address an anonymous client has: X-Forwarded-For only from the one TLS proxy we trust
# (else any client could name a new address per request and escape the limit).
REST_FRAMEWORK["NUM_PROXIES"] = 1 if SECURE_PROXY_SSL_HEADER else 0
# Log-in lock-out (django-axes, on the log-in page, the admin's and POST /api/auth/token/): after
# LOGIN_FAILURE_LIMIT failures for one username from one address, 429 with Retry-After for
# LOGIN_LOCKOUT_SECONDS, the right password included. Failures are kept in the database (shared).
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "fer_site.lockout.lockout_response"
# Live sockets one user may have open at once, across processes (slots in the cache): 4429 beyond.
MAX_LIVE_SOCKETS_PER_USER = env_int("MAX_LIVE_SOCKETS_PER_USER", 4)
# Content-Security-Policy (django-csp; Django 5.2 has none): scripts, styles and connections from this
# site only, so no inline script or style runs. Permissions-Policy: the camera for this site, nothing else.
INSTALLED_APPS.append("csp")
_after_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
MIDDLEWARE[_after_security:_after_security] = ["csp.middleware.CSPMiddleware",
                                               "fer_site.middleware.PermissionsPolicyMiddleware"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # Swagger UI's icons are data: URLs
        "connect-src": ["'self'"],  # the live WebSocket is same-origin
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
PERMISSIONS_POLICY = {
    "camera": "(self)", "microphone": "()", "geolocation": "()", "payment": "()", "usb": "()",
    "display-capture": "()", "interest-cohort": "()",
}
# Mail (password resets) from EMAIL_URL (see fer_site.mail): SMTP; without it the console with DEBUG on,
# and with DEBUG off a backend that sends nothing and logs no body (no reset link in a log).
globals().update(email_settings(os.environ.get("EMAIL_URL", "").strip(), debug=DEBUG))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Moodlens <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# DEBUG off: no development or short SECRET_KEY, no ALLOWED_HOSTS=* (start-up stops, naming the variable).
check_production(debug=DEBUG, secret_key=SECRET_KEY, allowed_hosts=ALLOWED_HOSTS)
