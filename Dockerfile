# The bridge as a container beside Sisumaker.
#   buildah bud --build-arg BASE=python:3.12-slim -t sisumaker-bridge .   (or docker build)
# Any Debian-like base with python3 and python3-venv works (see ../shared/container/base-image.sh).
ARG BASE=python:3.12-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/bridge/bin:$PATH \
    BRIDGE_DATA_DIR=/data \
    BRIDGE_LOG_FORMAT=json \
    BRIDGE_METRICS_PORT=9108

# Build inside a virtual environment, then drop the sources: only the installed package stays.
COPY pyproject.toml README.md /src/
COPY bridge /src/bridge
COPY mappings /src/mappings
RUN python3 -m venv /opt/bridge \
 && /opt/bridge/bin/pip install --no-cache-dir --disable-pip-version-check /src \
 && rm -rf /src

# A fixed, unprivileged user owns the ledger volume.
RUN groupadd --system --gid 10001 bridge \
 && useradd --system --uid 10001 --gid bridge --home-dir /data --no-create-home --shell /usr/sbin/nologin bridge \
 && mkdir -p /data \
 && chown bridge:bridge /data
USER bridge:bridge
WORKDIR /data
VOLUME ["/data"]
EXPOSE 9108

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('BRIDGE_METRICS_PORT', '9108'), timeout=4)"]

# Exec form: the bridge is PID 1 and gets SIGTERM directly; it finishes the page being
# stored and exits 0 well within the usual 10-second grace period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["bridge"]
CMD ["run"]
