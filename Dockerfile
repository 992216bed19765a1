# Roster in a container: `docker build -t roster .` (see docs/DEPLOYMENT.md, "Containers").
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin roster

FROM debian:bookworm-slim
# curl for the HEALTHCHECK (Roster makes no outgoing TLS connections: no CA certificates).
RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/roster --create-home roster
COPY --from=build /src/target/release/roster /usr/local/bin/roster
USER roster
ENV ROSTER_LISTEN=0.0.0.0:8080 \
    ROSTER_DATABASE_URL=sqlite:///var/lib/roster/roster.db \
    ROSTER_LOG_FORMAT=json
VOLUME /var/lib/roster
EXPOSE 8080
# Ready, not just alive: 503 while migrations or a tenant file run, or when the database does
# not answer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/ready || exit 1
# SIGTERM (docker stop) finishes requests in flight and checkpoints the WAL.
STOPSIGNAL SIGTERM
ENTRYPOINT ["roster"]
CMD ["serve"]
