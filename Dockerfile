# syntax=docker/dockerfile:1
#
# AgentOps container images: one Dockerfile, one build stage, two images.
#
#   docker build --target agentops         -t ghcr.io/agentops/agentops:$VERSION .
#   docker build --target agentops-runtime -t ghcr.io/agentops/agentops-runtime:$VERSION .
#   (add --build-arg VERSION=$VERSION; the package's own version is agentops_services/__init__.py)
#
# Why two images, and not one or one per command
# -----------------------------------------------
# Every command is the same Python distribution (`agentops`, pyproject.toml) behind one entry
# point, so the operator, the memory service, the trace store (`agentops traces`), the MCP
# gateway and the channel bridges share ONE image, `agentops`: one virtualenv built once, one
# thing to scan, sign and pin, and the operator names it for the gateway sidecars it creates
# (OperatorImages.gateway) as well as for itself. An image per command would hold the same
# files N times and let their versions drift apart for nothing.
#
# The agent runtime is the exception, so it gets the second image, `agentops-runtime`: its bash
# tool runs `bash -c` in the agent's workspace and agents expect the usual command-line tools
# there (coreutils, grep, sed, find, git, curl, jq, tar, gzip; `rg` comes from the ripgrep wheel
# in the virtualenv). Putting a shell and those tools into the shared image would hand them to
# the operator (which holds cluster credentials) and to every service that never needs them;
# keeping them out of the runtime would break its tools. So:
#
#   agentops          distroless python3 (Debian 12): no shell, no package manager, nothing but
#                     Python 3.11 and the libraries it links. No RUN after its FROM: there is
#                     nothing to run one with.
#   agentops-runtime  debian:12-slim with bash and the tools above.
#
# Both run as UID/GID 65532 (numeric, so the kubelet can verify runAsNonRoot without reading
# /etc/passwd) and work with readOnlyRootFilesystem: true. Nothing is written below / at run
# time: the bytecode is compiled here, PYTHONDONTWRITEBYTECODE stops attempts to write more,
# HOME is /tmp (an emptyDir in the pods), and data goes to the mounted volumes (--db, --state-dir).
#
# The virtualenv is built with Debian 12's own python3.11, so its interpreter link
# (/opt/venv/bin/python3.11 -> /usr/bin/python3.11) and the ABI of its compiled wheels match both
# final bases, which carry that same interpreter at that same path.
#
# Bases are build arguments so a release can pin them by digest, e.g.
#   --build-arg DEBIAN_IMAGE=debian:12-slim@sha256:...
#   --build-arg DISTROLESS_IMAGE=gcr.io/distroless/python3-debian12:nonroot@sha256:...

ARG DEBIAN_IMAGE=debian:12-slim
ARG DISTROLESS_IMAGE=gcr.io/distroless/python3-debian12:nonroot
ARG VERSION=dev

# ---------------------------------------------------------------------------------------------
# build: the wheel of this repository and a virtualenv with it and its dependencies in /opt/venv
# ---------------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN /usr/bin/python3.11 -m venv /opt/venv
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1

WORKDIR /src
# Only what hatchling needs for the wheel (pyproject.toml: packages agentops_services and
# agentops_tui, README.md as the long description, the version in agentops_services/__init__.py;
# no .git is needed). .dockerignore keeps the rest of the repository out of the context.
COPY pyproject.toml README.md ./
COPY agentops_services ./agentops_services
COPY agentops_tui ./agentops_tui

# A regular install from the wheel (no -e, no dev extras), then pip itself is removed: nothing
# installs packages at run time, the root filesystem is read-only anyway.
RUN /opt/venv/bin/python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/python -m pip install --no-cache-dir --no-compile /wheels/agentops-*.whl \
    && /opt/venv/bin/python -m pip uninstall --yes pip \
    && rm -rf /wheels
# Bytecode now, because at run time nothing can be written. unchecked-hash: the .pyc files are
# used without comparing source timestamps, which builders may rewrite (SOURCE_DATE_EPOCH).
RUN /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv \
    && /opt/venv/bin/agentops --version

# ---------------------------------------------------------------------------------------------
# agentops-runtime: the agent runtime, with the shell and tools its bash tool runs
# ---------------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS agentops-runtime
ARG VERSION
LABEL org.opencontainers.image.title="agentops-runtime" \
      org.opencontainers.image.description="AgentOps agent runtime (with bash and command-line tools for the bash tool)" \
      org.opencontainers.image.source="https://github.com/agentops/agentops" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
# python3: the interpreter the virtualenv links to. The user gets a passwd entry because git
# and ssh look the current user up (git refuses to commit for a UID it cannot find).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3 bash coreutils grep sed findutils git ca-certificates curl jq tar gzip \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 nonroot \
    && useradd --uid 65532 --gid 65532 --home-dir /tmp --no-create-home \
        --shell /bin/bash nonroot
COPY --from=build /opt/venv /opt/venv
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HOME=/tmp
USER 65532:65532
ENTRYPOINT ["/opt/venv/bin/agentops"]
CMD ["runtime"]

# ---------------------------------------------------------------------------------------------
# agentops (last, so the default target): operator, memory, traces, MCP gateway, channel bridges
# ---------------------------------------------------------------------------------------------
FROM ${DISTROLESS_IMAGE} AS agentops
ARG VERSION
LABEL org.opencontainers.image.title="agentops" \
      org.opencontainers.image.description="AgentOps operator, memory service, trace store, MCP gateway and channel bridges" \
      org.opencontainers.image.source="https://github.com/agentops/agentops" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /opt/venv /opt/venv
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HOME=/tmp
USER 65532:65532
ENTRYPOINT ["/opt/venv/bin/agentops"]
CMD ["--help"]
