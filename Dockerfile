# Build: a static binary (no cgo: the SQLite driver is pure Go).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/leadledger ./cmd/leadledger
# The data directory, made here: a VOLUME's directory would otherwise be root's, and the ledger
# runs as nonroot (65532).
RUN mkdir -p /out/data

# Run: no shell, no package manager, not root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/leadledger /usr/local/bin/leadledger
COPY leadledger.example.yaml /etc/leadledger/leadledger.yaml
COPY --from=build --chown=65532:65532 /out/data /var/lib/leadledger
ENV LEDGER_CONFIG=/etc/leadledger/leadledger.yaml \
    LEDGER_LISTEN=0.0.0.0:8080 \
    LEDGER_DATABASE=sqlite:/var/lib/leadledger/ledger.db
VOLUME /var/lib/leadledger
EXPOSE 8080
USER nonroot
ENTRYPOINT ["/usr/local/bin/leadledger"]
CMD ["serve"]
