# flowops operator image. Build: docker build -t flowops-operator:0.1.0 .
# Stage 1 builds a wheel and its dependencies; stage 2 carries only what runs.
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11.11-slim-bookworm
RUN useradd --uid 65532 --no-create-home --shell /usr/sbin/nologin flowops
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels flowops && rm -rf /wheels
USER 65532:65532
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
EXPOSE 8080
ENTRYPOINT ["flowops-operator"]
CMD ["--peering=flowops", "--log-format=json", "--liveness=http://0.0.0.0:8080/healthz"]
