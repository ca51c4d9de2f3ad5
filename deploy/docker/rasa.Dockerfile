# syntax=docker/dockerfile:1
# Rasa server image: Python 3.10, Rasa 3.6.21 pinned by requirements/rasa.txt (+ its lock), our `bot` package (custom
# channels, redacting tracker stores, privacy, settings) and the trained model. No secret is baked in: tokens, the
# privacy salt and the database URLs come from the environment (Kubernetes Secrets / deploy/tthc.env).
# Build from the repository root after `make train` (the model is models/tthc.tar.gz):
#   docker build -f deploy/docker/rasa.Dockerfile -t registry.example.gov.vn/tthc/tthc-rasa:0.1.0 .
FROM python:3.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1

RUN groupadd --gid 10001 tthc && useradd --uid 10001 --gid tthc --create-home --shell /usr/sbin/nologin tthc
WORKDIR /app

# dependencies first: this layer is rebuilt only when the pins change
COPY requirements/rasa.txt requirements/rasa.lock.txt requirements/
RUN python -m pip install "pip==25.3" \
 && python -m pip install -r requirements/rasa.txt -c requirements/rasa.lock.txt

COPY bot/ bot/
COPY knowledge/ knowledge/
COPY settings.yml credentials.yml pyproject.toml ./
COPY models/tthc.tar.gz models/tthc.tar.gz

# PYTHONPATH: the project root, as `make run` gives its servers (bot/processes.base_env)
ENV PYTHONPATH=/app \
    BOT_PROFILE=production
USER 10001:10001
EXPOSE 5005

# Rasa's root route answers once the model is loaded (loading takes 1-3 minutes on a busy core)
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/', timeout=4)"]

# bot.preflight refuses to start the production profile with the default privacy salt or missing tokens (as
# `make run` does), requires DATABASE_URL (shared state), adds --enable-api/--auth-token when settings.yml turns
# the HTTP API on, then execs Rasa. The endpoints (PostgreSQL tracker store, Redis lock store, actions URL) are
# mounted at /etc/tthc/endpoints.yml: deploy/endpoints.cluster.yml.
ENTRYPOINT ["python", "-m", "bot.preflight", "--require", "DATABASE_URL", "--require", "TRACKER_DATABASE_URL", \
            "--rasa-api", "--"]
CMD ["rasa", "run", "--interface", "0.0.0.0", "--port", "5005", "--model", "models/tthc.tar.gz", \
     "--endpoints", "/etc/tthc/endpoints.yml", "--credentials", "credentials.yml"]
