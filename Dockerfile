# syntax=docker/dockerfile:1.7
# One image for both planes:
#   docker run botfleet:local serve control-plane --host 0.0.0.0 --port 8001
#   docker run botfleet:local                          (a data plane: CONTROL_PLANE_URL,
#                                                        TENANT_ID, BOOT_TOKEN in the environment)
# Dependencies come from uv.lock (--frozen); the final stage has no build tools and runs as an
# unprivileged user. See docs/deployment.md.

ARG PYTHON_VERSION=3.12

# ---------------------------------------------------------------- build: a virtualenv with uv
FROM ghcr.io/astral-sh/uv:python${PYTHON_VERSION}-bookworm-slim AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first: this layer is reused while only the source changes.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# ---------------------------------------------------------------- runtime
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
ARG UID=10001
# The build's commit, shown with the version by /health (`docker build --build-arg
# BOTFLEET_RELEASE=$(git rev-parse --short HEAD) .`); the image has no git to ask.
ARG BOTFLEET_RELEASE=""
RUN groupadd --system --gid ${UID} botfleet \
 && useradd --system --uid ${UID} --gid botfleet --home-dir /app --shell /usr/sbin/nologin botfleet \
 && mkdir -p /data /shared \
 && chown botfleet:botfleet /data /shared
WORKDIR /app
COPY --from=build --chown=botfleet:botfleet /app/.venv /app/.venv
COPY --chown=botfleet:botfleet flows ./flows
COPY --chown=botfleet:botfleet examples ./examples
ENV BOTFLEET_RELEASE=${BOTFLEET_RELEASE} \
    PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DP_DATA_DIR=/data \
    DP_HOST=0.0.0.0
USER ${UID}
VOLUME ["/data"]
EXPOSE 8001 8002
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('HEALTH_PORT', '8002'), timeout=2)"
ENTRYPOINT ["botfleet"]
CMD ["serve", "data-plane", "--host", "0.0.0.0", "--port", "8002"]
