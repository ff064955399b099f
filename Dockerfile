# The bridge as a container beside Sisumaker.
#
#   docker build -t sisumaker-bridge .
#   docker run -d --name bridge -v bridge-data:/data -p 9108:9108 \
#       -e BRIDGE_SISUMAKER_URL=... -e BRIDGE_SISUMAKER_USERNAME=... \
#       -e BRIDGE_SISUMAKER_PASSWORD_FILE=/run/secrets/sisumaker sisumaker-bridge
#
# With buildah and no registry in reach (see ../shared/container/base-image.sh; the CA mount lets
# pip reach the package index through a TLS-intercepting proxy and is not part of the image):
#   STORAGE_DRIVER=vfs buildah bud --isolation chroot --pull=never --format docker \
#       --build-arg BASE=$(../shared/container/base-image.sh) \
#       -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
#       -t localhost/bridge:test .
# `--format docker` keeps HEALTHCHECK (the OCI image format has no field for it).
# Any Debian-like base with python3 and python3-venv works.
ARG BASE=python:3.12-slim

# ---- build: a virtual environment holding the bridge and its dependencies, nothing else -----
FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_DEFAULT_TIMEOUT=120
COPY pyproject.toml README.md /src/
COPY bridge /src/bridge
COPY mappings /src/mappings
# pip and setuptools are dropped once the bridge is installed: the image builds nothing.
RUN if [ -s /etc/ssl/certs/ca-certificates.crt ]; then \
      export PIP_CERT=/etc/ssl/certs/ca-certificates.crt; fi \
 && python3 -m venv /opt/bridge \
 && /opt/bridge/bin/python -m pip install --quiet /src \
 && /opt/bridge/bin/python -m pip uninstall --quiet --yes pip setuptools \
 && rm -f /opt/bridge/bin/activate* /opt/bridge/bin/Activate.ps1 \
 && /opt/bridge/bin/bridge --help >/dev/null

# ---- runtime: the base image, the virtual environment and an unprivileged user --------------
FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/bridge/bin:$PATH \
    BRIDGE_DATA_DIR=/data \
    BRIDGE_LOG_FORMAT=json \
    BRIDGE_METRICS_PORT=9108

COPY --from=build /opt/bridge /opt/bridge

# A fixed, unprivileged user owns the ledger volume (a bind-mounted /data must be writable by
# uid 10001). The HEALTHCHECK needs the ops server: BRIDGE_METRICS_PORT=0 turns both off.
RUN groupadd --system --gid 10001 bridge \
 && useradd --system --uid 10001 --gid bridge --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin bridge \
 && mkdir -p /data \
 && chown bridge:bridge /data \
 && chmod 0750 /data
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 9108

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('BRIDGE_METRICS_PORT', '9108'), timeout=4)"]

# Exec form: the bridge is PID 1 and gets SIGTERM itself; it finishes the page being stored and
# exits 0 well within the usual 10-second grace period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["bridge"]
CMD ["run"]
