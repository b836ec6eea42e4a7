#!/usr/bin/env bash
# Fresh-machine setup (Debian/Ubuntu), safe to run again:
#   1. system packages: ffmpeg, and the PostgreSQL server binaries used by the integration tests
#      (postgresql-15 when no /usr/lib/postgresql/*/bin/postgres exists); apt is skipped when both
#      are already there; sudo is used only when not running as root; chromium (Debian's, for the
#      report and WebVTT browser tests, driven by puppeteer-core) when /usr/bin/chromium is missing;
#   2. `npm ci` from the lockfile (skipped when node_modules was installed from the same lockfile,
#      package.json and Node major by this script; SETUP_FORCE_NPM_CI=1 forces it);
#   3. `npm run build` (tsc -> dist/, which bin/frames.js imports).
# Works with Node >= 20.19 (CI runs it on Node 22, the Lambda runtime).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# --- 0. Node ------------------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node is not on PATH; install Node.js >= 20.19 (22 recommended)"
command -v npm >/dev/null 2>&1 || die "npm is not on PATH"
node_ok="$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 20 || (a === 20 && b >= 19)')"
[ "$node_ok" = true ] || die "Node $(node -v) is too old; need >= 20.19 (22 recommended)"
log "node $(node -v), npm $(npm -v)"

# --- 1. system packages ---------------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  SUDO=()
fi

have_pg_server() {
  local f
  for f in /usr/lib/postgresql/*/bin/postgres; do
    [ -x "$f" ] && return 0
  done
  return 1
}

apt_pkgs=()
command -v ffmpeg >/dev/null 2>&1 || apt_pkgs+=(ffmpeg)
have_pg_server || apt_pkgs+=(postgresql-15)
[ -x /usr/bin/chromium ] || apt_pkgs+=(chromium)

if [ "${#apt_pkgs[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 ||
    die "missing ${apt_pkgs[*]} and apt-get is not available: install them with your package manager"
  if [ "$(id -u)" -ne 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
    die "missing ${apt_pkgs[*]}; run this script as root or install sudo"
  fi
  log "apt-get install ${apt_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get -o Acquire::Retries=3 update -q
  "${SUDO[@]}" apt-get -o Acquire::Retries=3 install -y -q --no-install-recommends "${apt_pkgs[@]}"
else
  log "system packages already present (ffmpeg, PostgreSQL server, chromium): skipping apt"
fi

command -v ffmpeg >/dev/null 2>&1 || die "ffmpeg is still not on PATH after apt-get"
have_pg_server || die "PostgreSQL server binaries still missing under /usr/lib/postgresql/*/bin"
ffmpeg -hide_banner -version | head -n 1

# initdb refuses to run as root; the test helper runs it as user `postgres` (the Debian package
# creates that user; bare server binaries may come without it).
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  log "creating system user postgres (the tests run initdb/postgres as it)"
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi

# --- 2. npm dependencies --------------------------------------------------------------------------
node_major="$(node -p 'process.versions.node.split(".")[0]')"
stamp_file=node_modules/.setup-stamp
stamp="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1) node${node_major}"

if [ "${SETUP_FORCE_NPM_CI:-0}" != 1 ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
  log "node_modules is up to date with package-lock.json: skipping npm ci (SETUP_FORCE_NPM_CI=1 forces it)"
else
  log "npm ci"
  # ffmpeg-static (optional) downloads its binary from GitHub in its install script; offline that
  # fails and npm drops the optional package, which is fine: the engine falls back to ffmpeg on PATH.
  if ! npm ci --no-audit --no-fund; then
    if [ "${CI:-}" = true ]; then
      die "npm ci failed (package.json and package-lock.json out of sync?). Run 'npm install --package-lock-only --ignore-scripts' and commit package-lock.json."
    fi
    printf '\nsetup: WARNING: %s\n\n' "npm ci failed; falling back to 'npm install --no-save'. The lockfile needs fixing: run 'npm install --package-lock-only --ignore-scripts' and commit package-lock.json." >&2
    npm install --no-save --no-audit --no-fund
  fi
  printf '%s\n' "$stamp" >"$stamp_file"
fi

node -e "import('sharp').then((s) => console.log('sharp', s.default.versions.sharp, 'libvips', s.default.versions.vips))" ||
  die "sharp does not load (its prebuilt @img/sharp-* binary for this platform is missing?)"

# --- 3. build -------------------------------------------------------------------------------------
log "npm run build"
npm run build
[ -f dist/src/lambda.js ] || die "build finished but dist/src/lambda.js is missing"

log "setup done"
