# syntax=docker/dockerfile:1
# The Action's image: a static binary on a minimal base with CA certificates.
# It runs as root: the runner's file commands (GITHUB_OUTPUT, the job summary)
# are owned by the runner's user and docker actions must run as root to write them.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/desktop-plugin-check .

FROM alpine:3.22 AS certs
RUN apk add --no-cache ca-certificates

FROM scratch
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/desktop-plugin-check /desktop-plugin-check
USER 0:0
ENTRYPOINT ["/desktop-plugin-check"]
