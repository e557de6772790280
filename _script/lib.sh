# shellcheck shell=bash
# Helpers shared by the _script/ commands (sourced, not run).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# The project's pinned Node 24 (devDependency node@24) before whatever node the machine has.
export PATH="$ROOT/node_modules/.bin:$PATH"

SERVICE=delivery-images
BUILD_DIR="$ROOT/build"
export SERVICE BUILD_DIR

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# "docker" alone is not enough: the client is often installed without a reachable engine.
have_docker() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

git_sha() { git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown; }

# The package version (RPM versions cannot hold '-', so prereleases use '~', which sorts first).
app_version() {
  local version
  version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$ROOT/package.json" | head -n 1)"
  [ -n "$version" ] || die "no version in package.json"
  printf '%s\n' "${version//-/\~}"
}

# Build number and commit: every CI build gets a distinct, ordered RPM release and image tag.
build_release() { printf '%s.git%s\n' "${TRAVIS_BUILD_NUMBER:-0}" "$(git_sha)"; }

image_tag() { printf '%s-%s\n' "$(app_version | tr '~' '-')" "$(build_release)"; }

# Print a command (quoted as it would be typed) and run it unless DRY_RUN=1.
run() {
  printf '+' >&2
  printf ' %q' "$@" >&2
  printf '\n' >&2
  if [ "${DRY_RUN:-0}" != 1 ]; then "$@"; fi
}
