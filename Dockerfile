# The code location's image: what Dagster's Helm chart (user deployments) or the Docker run launcher runs.
# It serves the definitions over gRPC and is also the image every run worker starts from (one run per pod or
# container). Settings and credentials come from the environment (a Kubernetes Secret, docs/deployment.md),
# never from a file baked in: the image holds no .env.
FROM python:3.11-slim-bookworm

# PYTHONDONTWRITEBYTECODE: no process writes .pyc at run time (the image's files are read-only to the user), so
# everything is compiled at install below (`--compile`): otherwise every code server, run worker and CLI run
# would compile dagster, pandas and the connector from source at each start (~3x the import: bench/bytecode.md).
# Each step's stdout/stderr goes under $DAGSTER_HOME/storage/ (Dagster's default; dagster.yaml reads no other
# location).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home

WORKDIR /opt/etl_platform
# The runtime dependencies, pinned to the same versions as the tested lock (no test or lint tools).
COPY requirements.runtime.lock ./
RUN pip install --no-cache-dir --disable-pip-version-check --compile -r requirements.runtime.lock
# The package itself (the top-level sql/ is built into it as package data, with the baselines), without
# re-resolving dependencies.
COPY pyproject.toml setup.py README.md ./
COPY etl_platform ./etl_platform
COPY sql ./sql
RUN pip install --no-cache-dir --disable-pip-version-check --compile --no-deps . \
    && rm -rf /opt/etl_platform/etl_platform /opt/etl_platform/sql
# The instance configuration shared with the webserver and the daemon (same file as local).
COPY dagster_home/dagster.yaml ${DAGSTER_HOME}/dagster.yaml

RUN useradd --uid 10001 --create-home dagster \
    && chown -R dagster ${DAGSTER_HOME}
USER dagster
EXPOSE 4000
# The Helm chart runs `dagster api grpc` with its own arguments (deploy/helm/values.yaml); this default lets
# the same image serve the location anywhere else.
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "etl_platform.definitions", "--location-name", "etl_platform"]
