#!/usr/bin/env bash
# Installs the Debian packages Stevedore's tests use: the real registry, the
# interoperability peers, gpg, htpasswd and the compression command-line tools.
# Idempotent: it does nothing when every command is already present.
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
)

missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# skopeo reads /etc/containers/policy.json; Debian ships it in golang-github-containers-common
[ -f /etc/containers/policy.json ] || missing+=(golang-github-containers-common)

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
