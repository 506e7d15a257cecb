#!/usr/bin/env bash
# Prints the path of a nats-server binary at the pinned version, installing it with Go's module
# proxy when it is missing (DESIGN.md §8). Quiet on success: stdout carries only the path, so
# callers can do `bin=$(scripts/nats-server.sh)`. Idempotent.
#
# Debian's /usr/sbin/nats-server (2.9.10) is never used: it lacks `sync_interval` and the
# crash-recovery fixes of 2.10.x. A cold build takes a few minutes.
set -euo pipefail

VERSION="v2.12.15"

# `nats-server --version` prints "nats-server: v2.12.15".
has_version() {
  [[ -x "$1" ]] && [[ "$("$1" --version 2>/dev/null)" == "nats-server: ${VERSION}" ]]
}

command -v go >/dev/null 2>&1 || { echo "nats-server.sh: go is required to install nats-server ${VERSION}" >&2; exit 1; }
gobin="$(go env GOBIN)"
[[ -n "$gobin" ]] || gobin="$(go env GOPATH)/bin"
bin="${gobin}/nats-server"

if ! has_version "$bin"; then
  echo "nats-server.sh: installing nats-server ${VERSION} into ${gobin} (a cold build takes a few minutes)" >&2
  GOBIN="$gobin" go install "github.com/nats-io/nats-server/v2@${VERSION}" >&2
  if ! has_version "$bin"; then
    echo "nats-server.sh: ${bin} does not report ${VERSION} after install: $("$bin" --version 2>&1 || true)" >&2
    exit 1
  fi
fi

echo "$bin"
