#!/usr/bin/env bash
# Installs the Debian packages Stevedore's tests use: the real registry, the
# interoperability peers, gpg, htpasswd and the compression command-line tools.
# Idempotent: it does nothing when every command is already present.
# With arguments, only those commands are checked (e.g. `setup-system.sh docker-registry`).
set -euo pipefail

# command -> Debian package
declare -A need=(
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [umoci]=umoci
  [gpg]=gnupg
  [htpasswd]=apache2-utils
  [openssl]=openssl
  [zstd]=zstd
  [xz]=xz-utils
  [bzip2]=bzip2
  [gzip]=gzip
  [tar]=tar
  [/usr/bin/time]=time  # peak RSS of the tools in tools/bench/compression.mjs
)

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${!need[@]}")
missing=()
for cmd in "${wanted[@]}"; do
  pkg="${need[$cmd]:-}"
  [ -n "$pkg" ] || { echo "setup-system: unknown tool '$cmd'" >&2; exit 2; }
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
# skopeo reads /etc/containers/policy.json; Debian ships it in golang-github-containers-common
if [ $# -eq 0 ] && [ ! -f /etc/containers/policy.json ]; then missing+=(golang-github-containers-common); fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "setup-system: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi

echo "setup-system: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
