# crisisbot: one process (HTTP + scheduler + outbox). SQLite lives on the /data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CRISISBOT_DATABASE_URL=sqlite+aiosqlite:////data/crisisbot.db \
    CRISISBOT_HOST=0.0.0.0 CRISISBOT_PORT=8080

RUN useradd --create-home --uid 10001 crisisbot && mkdir /data && chown crisisbot /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY config ./config
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER crisisbot
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"CRISISBOT_PORT\"]}/healthz')"
CMD ["crisisbot", "serve"]
