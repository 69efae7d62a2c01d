# mobauth in a small image: the binary carries the suite (every .feature file under features/),
# the requirement catalogue and the embedded mock Token Server, so the image needs nothing else.
#
#   docker build -t mobauth .
#   docker run --rm -v "$PWD/reports:/reports" --user "$(id -u):$(id -g)" mobauth
#   docker run --rm mobauth run --server https://tokens.example.test --out /reports
#
# What the final stage holds beside the binary, and why (scripts/check-docker.sh checks that this
# is enough by running the suite in a root filesystem made of just these files when there is no
# Docker daemon, and in the image itself when there is one):
# - glibc, libm and libgcc_s: the binary links them dynamically (distroless cc has them);
# - the CA bundle /etc/ssl/certs/ca-certificates.crt (distroless has it): the embedded run makes a
#   callback client that reads the platform's trusted roots, and fails without any (exit 3);
# - sh (dash, from the build stage): mobauth starts device drivers with `sh -c`, its own
#   reference driver in the DRV scenarios of the default run included; distroless has no shell,
#   and without one those 32 scenarios fail.
# Build arguments VERSION and REVISION fill the OCI labels, e.g.
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" -t mobauth .

# The workspace's rust-version is 1.90 (edition 2024).
FROM rust:1.90-slim-bookworm AS build
WORKDIR /src
# No debug info (the workspace's release profile keeps line tables) and a stripped binary: some
# 20 MB instead of some 150. Cargo.toml is left as it is; these override its release profile here.
ENV CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_STRIP=symbols \
    CARGO_INCREMENTAL=0 \
    CARGO_TERM_COLOR=never
COPY . .
# The registry and target caches live in BuildKit cache mounts, so the binary is copied out of
# target/ in the same step. /out is what the final stage adds: the binary, a shell for `sh -c`
# (in /usr/bin, on the PATH whether or not /bin is a link to it) and the reports folder (mode
# 1777 like /tmp, so that the image's user and any `docker run --user UID` can write there).
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p mobauth \
    && install -D -m 0755 target/release/mobauth /out/usr/local/bin/mobauth \
    && install -D -m 0755 /bin/dash /out/usr/bin/sh \
    && install -d -m 1777 /out/reports \
    && /out/usr/local/bin/mobauth --version

# glibc, libgcc_s, CA certificates, /etc/passwd with `nonroot` (65532), no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=unknown
ARG REVISION=unknown
LABEL org.opencontainers.image.title="mobauth" \
      org.opencontainers.image.description="Conformance harness for mobile authentication: the cucumber suite, simulated devices and an embedded mock Token Server" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"
COPY --from=build /out/ /
USER 65532:65532
WORKDIR /reports
VOLUME ["/reports"]
ENTRYPOINT ["/usr/local/bin/mobauth"]
CMD ["run", "--out", "/reports"]
