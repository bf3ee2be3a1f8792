# The code location's image: what Dagster's Helm chart (user deployments) or the Docker run launcher runs.
# It serves the definitions over gRPC and is also the image every run worker starts from (one run per pod or
# container). Settings and credentials come from the environment (a Kubernetes Secret, docs/deployment.md),
# never from a file baked in: the image holds no .env.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    DAGSTER_COMPUTE_LOG_DIR=/opt/dagster/compute_logs

WORKDIR /opt/etl_platform
# The runtime dependencies, pinned to the same versions as the tested lock (no test or lint tools).
COPY requirements.runtime.lock ./
RUN pip install --no-cache-dir --disable-pip-version-check -r requirements.runtime.lock
# The package itself (the top-level sql/ is built into it as package data, with the baselines), without
# re-resolving dependencies.
COPY pyproject.toml setup.py README.md ./
COPY etl_platform ./etl_platform
COPY sql ./sql
RUN pip install --no-cache-dir --disable-pip-version-check --no-deps . \
    && rm -rf /opt/etl_platform/etl_platform /opt/etl_platform/sql
# The instance configuration shared with the webserver and the daemon (same file as local).
COPY dagster.yaml ${DAGSTER_HOME}/dagster.yaml

RUN useradd --uid 10001 --create-home dagster \
    && mkdir -p ${DAGSTER_COMPUTE_LOG_DIR} && chown -R dagster ${DAGSTER_HOME} ${DAGSTER_COMPUTE_LOG_DIR}
USER dagster
EXPOSE 4000
# The Helm chart runs `dagster api grpc` with its own arguments (deploy/helm/values.yaml); this default lets
# the same image serve the location anywhere else.
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "etl_platform.definitions", "--location-name", "etl_platform"]
