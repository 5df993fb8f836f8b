# syntax=docker/dockerfile:1
#
# vaultd container image: one static, non-root vaultd binary on an empty base.
#
#   docker build -t vaultd:dev .
#   docker run --rm -p 8200:8200 \
#     -e VAULTD_LOCAL_CONFIG='storage "raft" { path = "/vault/data" }
#       listener "tcp" { address = "0.0.0.0:8200" tls_disable = true }
#       cluster_addr = "https://127.0.0.1:8201"' vaultd:dev
#
# The image runs `vaultd server -config /vault/config`: every *.hcl and *.json
# file in /vault/config, merged with the document in VAULTD_LOCAL_CONFIG (or
# VAULT_LOCAL_CONFIG) when that is set. /vault/data holds raft data.
#
# Base images are pinned to exact versions; bump them deliberately.
# tests/deploy reads this file: it builds the binary with the same `go build`
# line and checks the USER, the pins and the ENTRYPOINT/CMD.

FROM golang:1.26.8-bookworm AS build

WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .

# Set by BuildKit for multi-platform builds; empty means the builder's platform.
ARG TARGETOS
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -o /out/vaultd ./cmd/vaultd

# The runtime file system: a user entry (so tools can name uid 10001), CA
# roots for outbound TLS (retry_join to a leader with a public certificate),
# and the directories vaultd writes, owned by the runtime user.
RUN mkdir -p /rootfs/etc/ssl/certs /rootfs/vault/data /rootfs/vault/config /rootfs/home/vaultd /rootfs/tmp \
 && echo 'vaultd:x:10001:10001:vaultd:/home/vaultd:/sbin/nologin' > /rootfs/etc/passwd \
 && echo 'vaultd:x:10001:' > /rootfs/etc/group \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt \
 && chmod 0700 /rootfs/vault/data /rootfs/home/vaultd \
 && chmod 0755 /rootfs/vault/config \
 && chmod 1777 /rootfs/tmp

FROM scratch

ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="vaultd" \
      org.opencontainers.image.description="A highly available, HashiCorp Vault API compatible secrets vault" \
      org.opencontainers.image.source="https://github.com/vaultd/vaultd" \
      org.opencontainers.image.documentation="https://github.com/vaultd/vaultd/blob/main/docs/kubernetes.md" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="scratch"

# The file system, root-owned (modes kept: /tmp is 1777), then the
# directories vaultd writes again, owned by the runtime user.
COPY --from=build /rootfs/ /
COPY --from=build --chown=10001:10001 /rootfs/vault/ /vault/
COPY --from=build --chown=10001:10001 /rootfs/home/ /home/
COPY --from=build /out/vaultd /usr/local/bin/vaultd

ENV PATH=/usr/local/bin \
    HOME=/home/vaultd \
    VAULT_ADDR=http://127.0.0.1:8200

USER 10001:10001
VOLUME ["/vault/data", "/vault/config"]
EXPOSE 8200 8201

ENTRYPOINT ["vaultd"]
CMD ["server", "-config", "/vault/config"]
