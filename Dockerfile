# One image for every service of docker-compose.yml (crawler, web, worker, cron): the runtime pins of
# requirements.txt (no test or lint tools) and linkpatrol itself, installed as a package, so the
# `linkpatrol` command works in it: `docker compose run --rm worker linkpatrol list`.

# The project as a wheel (its Lua scripts, templates and static files are package data).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml ./
COPY linkpatrol ./linkpatrol
COPY crawler ./crawler
COPY web ./web
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt
COPY --from=build /wheels /tmp/wheels
# --no-deps: its dependencies are the pins above.
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl && rm -r /tmp/wheels
# No scrapy.cfg here: `scrapy crawl links` finds the crawler's settings through this variable.
ENV SCRAPY_SETTINGS_MODULE=crawler.settings
# The state folder, a volume the unprivileged user owns: the mail worker writes each mail there
# (state/outbox) while no SMTP server is set.
ENV LINKPATROL_MAIL_DIR=/app/state/outbox
WORKDIR /app
RUN useradd --create-home --uid 10001 linkpatrol \
    && mkdir -p /app/state/outbox && chown -R linkpatrol:linkpatrol /app/state
VOLUME ["/app/state"]
USER linkpatrol
CMD ["python", "-m", "scrapy", "crawl", "links"]
