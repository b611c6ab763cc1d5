# syndicator as a long-lived service: scheduler + web app.
# Config and state are volumes; secrets come from the environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SYNDICATOR_CONFIG=/srv/syndicator/config/syndicator.toml \
    SYNDICATOR_DATABASE_URL=sqlite:////srv/syndicator/state/syndicator.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY syndicator ./syndicator
# The project itself, from this folder (its dependency ranges live in pyproject.toml)
RUN pip install --no-cache-dir "./[postgres]" \
    && useradd --system --uid 10001 --user-group --home-dir /srv/syndicator syndicator \
    && mkdir -p /srv/syndicator/config /srv/syndicator/state \
    && chown -R 10001:10001 /srv/syndicator

USER 10001:10001
WORKDIR /srv/syndicator
VOLUME ["/srv/syndicator/config", "/srv/syndicator/state"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["syndicator", "serve", "--host", "0.0.0.0", "--port", "8000"]
