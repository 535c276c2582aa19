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
ENTRYPOINT ["newsbot"]
CMD ["run"]
