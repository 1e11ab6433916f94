# syntax=docker/dockerfile:1
# pm-mcp container image: built on the official Rust image, run on distroless (glibc, CA
# certificates, no shell, no package manager) as the non-root user 65532.
#
#   docker build -t pm-mcp .
#   docker run --rm -p 8765:8765 -e PM_MCP_ALLOWED_HOSTS=localhost pm-mcp
#
# Both stages are Debian 12 (bookworm), so the binary runs on the glibc it was linked against.
# Pin the bases by digest (image@sha256:…) in your own registry for reproducible builds.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src

# Dependencies first: this layer is rebuilt only when a manifest or the lock file changes.
# cargo needs a target in each member's manifest, so each gets an empty lib.rs for the fetch,
# removed again so that none is left beside the real sources.
COPY Cargo.toml Cargo.lock ./
COPY crates/pm-core/Cargo.toml crates/pm-core/
COPY crates/pm-providers/Cargo.toml crates/pm-providers/
COPY crates/pm-testkit/Cargo.toml crates/pm-testkit/
COPY crates/pm-store/Cargo.toml crates/pm-store/
COPY crates/pm-server/Cargo.toml crates/pm-server/
COPY crates/pm-mcp/Cargo.toml crates/pm-mcp/
COPY crates/pm-charts/Cargo.toml crates/pm-charts/
COPY crates/pm-bench/Cargo.toml crates/pm-bench/
COPY crates/pm-conformance/Cargo.toml crates/pm-conformance/
RUN for d in crates/*/; do mkdir -p "$d/src" && touch "$d/src/lib.rs"; done \
    && cargo fetch --locked \
    && rm -r crates/*/src

# The sources (see .dockerignore for what stays out), built offline from the fetched crates.
# The target folder is a BuildKit cache: a rebuild compiles only what changed.
COPY crates crates
RUN --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --offline -p pm-mcp \
    && install -D -m 0755 target/release/pm-mcp /out/pm-mcp \
    && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
LABEL org.opencontainers.image.title="pm-mcp" \
      org.opencontainers.image.description="An MCP server for project-management tools, with its own users, keys and database" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/pm-mcp /usr/local/bin/pm-mcp
# The data folder (the SQLite database and master key when no DATABASE_URL is given): a volume
# owned by the runtime user.
COPY --from=builder --chown=65532:65532 /out/data /data
ENV PM_MCP_DATA_DIR=/data \
    PM_MCP_LISTEN=0.0.0.0:8765 \
    PM_MCP_LOG_FORMAT=json
VOLUME ["/data"]
USER 65532:65532
EXPOSE 8765
# The binary asks its own /healthz on PM_MCP_LISTEN (distroless has no curl or shell).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["pm-mcp", "health"]
ENTRYPOINT ["pm-mcp"]
CMD ["serve"]
