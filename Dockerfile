FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
RUN pip install . && useradd --create-home --uid 10001 newsbot && mkdir /data && chown newsbot /data
USER newsbot
WORKDIR /data
ENV NEWSBOT_CONFIG=/config/newsbot.toml
# The HTTP server (health, metrics, CMS API, webhook) listens here when http_port is set.
EXPOSE 8080
# `docker stop` sends SIGTERM: newsbot stops taking updates and finishes (or requeues) the
# deliveries in flight within 10 s; give it 15 s (compose: stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["newsbot"]
CMD ["run"]
