#!/usr/bin/env bash
# Build the Lambda image (docker/Dockerfile, linux/amd64) and push it to ECR, tagged with the git sha.
# Then deploy it with the printed `npx cdk deploy -c ecrRepository=... -c imageDigest=...` line.
# Run `./push-image.sh --help` for the options.
set -Eeuo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"

REPOSITORY="${ECR_REPOSITORY:-scene-frames}"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
TAG=""
PLATFORM="linux/amd64"
PUSH_TIMEOUT="${PUSH_TIMEOUT:-900}"
PUSH_ATTEMPTS="${PUSH_ATTEMPTS:-3}"
PUSH_RETRY_PAUSE="${PUSH_RETRY_PAUSE:-10}"
ALLOW_DIRTY=0
DRY_RUN=0
LATEST=0
BUILD_ARGS=()

usage() {
  cat <<'EOF'
Usage: ./push-image.sh [options]

Build docker/Dockerfile for linux/amd64 (provenance and SBOM attestations off: Lambda rejects the
manifest list they create), tag it with the git sha and push it to Amazon ECR. The repository is
created if missing (scan on push, immutable tags). Prints the digest and the cdk deploy command.

Options:
  -r, --repository NAME   ECR repository name (default: $ECR_REPOSITORY or scene-frames)
  -g, --region REGION     AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION, then the CLI's config)
  -t, --tag TAG           image tag (default: the short git sha of HEAD)
      --build-arg K=V     pass a build arg to docker (repeatable), e.g. FFMPEG_SHA256=<hex>
      --latest            also push the tag "latest" (needs a repository with mutable tags)
      --timeout SECONDS   time limit for each push attempt (default: $PUSH_TIMEOUT or 900)
      --attempts N        push attempts before giving up (default: $PUSH_ATTEMPTS or 3;
                          the pause between attempts grows by $PUSH_RETRY_PAUSE, default 10 s)
      --allow-dirty       build from a work tree with uncommitted changes (tag gets -dirty-<time>)
  -n, --dry-run           print the commands instead of running them
  -h, --help              show this help

Needs: git, docker (with buildx), aws (v2) with credentials allowed to use ECR, timeout (coreutils).

Example:
  ./push-image.sh --region eu-west-1
  npx cdk deploy -c ecrRepository=scene-frames -c imageDigest=sha256:...
EOF
}

die() {
  printf 'push-image: error: %s\n' "$*" >&2
  exit 1
}

log() {
  printf 'push-image: %s\n' "$*" >&2
}

# Print a command (shell-quoted) and run it unless --dry-run.
run() {
  if [[ "$DRY_RUN" -eq 1 ]]; then
    {
      printf '+'
      printf ' %q' "$@"
      printf '\n'
    } >&2
    return 0
  fi
  "$@"
}

need_value() {
  [[ $# -ge 2 && -n "$2" && "$2" != -* ]] || die "$1 needs a value (see --help)"
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    -r | --repository) need_value "$@"; REPOSITORY="$2"; shift 2 ;;
    -g | --region) need_value "$@"; REGION="$2"; shift 2 ;;
    -t | --tag) need_value "$@"; TAG="$2"; shift 2 ;;
    --build-arg) need_value "$@"; BUILD_ARGS+=(--build-arg "$2"); shift 2 ;;
    --latest) LATEST=1; shift ;;
    --timeout) need_value "$@"; PUSH_TIMEOUT="$2"; shift 2 ;;
    --attempts) need_value "$@"; PUSH_ATTEMPTS="$2"; shift 2 ;;
    --allow-dirty) ALLOW_DIRTY=1; shift ;;
    -n | --dry-run) DRY_RUN=1; shift ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done

[[ "$REPOSITORY" =~ ^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$ ]] \
  || die "invalid repository name '$REPOSITORY' (lowercase letters, digits, . _ - and /)"
[[ "$PUSH_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds, got '$PUSH_TIMEOUT'"
[[ "$PUSH_ATTEMPTS" =~ ^[1-9][0-9]*$ ]] || die "--attempts must be a positive integer, got '$PUSH_ATTEMPTS'"
[[ "$PUSH_RETRY_PAUSE" =~ ^[0-9]+$ ]] || die "PUSH_RETRY_PAUSE must be a number of seconds, got '$PUSH_RETRY_PAUSE'"

for tool in git docker aws timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed or not on PATH"
done

cd "$SCRIPT_DIR"
[[ -f docker/Dockerfile ]] || die "docker/Dockerfile not found under $SCRIPT_DIR"
git rev-parse --git-dir >/dev/null 2>&1 || die "$SCRIPT_DIR is not a git work tree (the tag is the git sha)"

if [[ -z "$TAG" ]]; then
  TAG="$(git rev-parse --short=12 HEAD)" || die "cannot read the git sha of HEAD (no commit yet?)"
  if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
    [[ "$ALLOW_DIRTY" -eq 1 ]] || die "the work tree has uncommitted changes: commit them, or pass --allow-dirty"
    TAG="${TAG}-dirty-$(date -u +%Y%m%d%H%M%S)"
    log "work tree is dirty: tagging $TAG"
  fi
fi
[[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "invalid tag '$TAG'"

if [[ -z "$REGION" ]]; then
  REGION="$(aws configure get region 2>/dev/null || true)"
fi
[[ -n "$REGION" ]] || die "no AWS region: pass --region or set AWS_REGION"

if [[ "$DRY_RUN" -eq 1 ]]; then
  ACCOUNT="${AWS_ACCOUNT_ID:-123456789012}"
else
  ACCOUNT="$(aws sts get-caller-identity --query Account --output text --region "$REGION" 2>/dev/null)" \
    || die "no usable AWS credentials (aws sts get-caller-identity failed): configure a profile or export AWS_PROFILE"
fi
REGISTRY="${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com"
IMAGE="${REGISTRY}/${REPOSITORY}"

# 1. Repository: create it if missing, with scan on push and immutable tags (a sha tag never moves).
if [[ "$DRY_RUN" -eq 0 ]] && aws ecr describe-repositories --repository-names "$REPOSITORY" --region "$REGION" >/dev/null 2>&1; then
  log "repository $REPOSITORY exists"
else
  log "creating repository $REPOSITORY in $REGION"
  mutability="IMMUTABLE"
  if [[ "$LATEST" -eq 1 ]]; then mutability="MUTABLE"; fi
  run aws ecr create-repository --repository-name "$REPOSITORY" --region "$REGION" \
    --image-scanning-configuration scanOnPush=true --image-tag-mutability "$mutability" \
    --encryption-configuration encryptionType=AES256 >/dev/null \
    || die "could not create ECR repository $REPOSITORY (needs ecr:CreateRepository)"
fi

# An immutable repository refuses a second push of the same tag: reuse the image that is there.
existing_digest() {
  aws ecr describe-images --repository-name "$REPOSITORY" --region "$REGION" --image-ids "imageTag=$TAG" \
    --query 'imageDetails[0].imageDigest' --output text 2>/dev/null || true
}
DIGEST=""
if [[ "$DRY_RUN" -eq 0 ]]; then
  DIGEST="$(existing_digest)"
  [[ "$DIGEST" == sha256:* ]] || DIGEST=""
fi

if [[ -n "$DIGEST" ]]; then
  log "$IMAGE:$TAG is already in ECR ($DIGEST); skipping build and push"
else
  # 2. Log in (the password goes through a pipe, never the command line).
  log "logging in to $REGISTRY"
  if [[ "$DRY_RUN" -eq 1 ]]; then
    run aws ecr get-login-password --region "$REGION"
    run docker login --username AWS --password-stdin "$REGISTRY"
  else
    aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY" >/dev/null \
      || die "docker login to $REGISTRY failed (is the docker daemon running? do the credentials allow ecr:GetAuthorizationToken?)"
  fi

  # 3. Build: one platform, no attestations, so the pushed tag is a plain image manifest Lambda accepts.
  tags=(--tag "$IMAGE:$TAG")
  if [[ "$LATEST" -eq 1 ]]; then tags+=(--tag "$IMAGE:latest"); fi
  log "building $IMAGE:$TAG for $PLATFORM"
  run docker buildx build --platform "$PLATFORM" --provenance=false --sbom=false \
    --file docker/Dockerfile "${tags[@]}" ${BUILD_ARGS[@]+"${BUILD_ARGS[@]}"} --load . \
    || die "docker build failed (see the output above)"

  # 4. Push with a time limit per attempt and a growing pause between attempts.
  push() {
    local ref="$1" attempt
    for ((attempt = 1; attempt <= PUSH_ATTEMPTS; attempt++)); do
      log "pushing $ref (attempt $attempt/$PUSH_ATTEMPTS, limit ${PUSH_TIMEOUT}s)"
      local status=0
      run timeout --kill-after=30 "$PUSH_TIMEOUT" docker push "$ref" || status=$?
      if [[ "$status" -eq 0 ]]; then
        return 0
      elif [[ "$status" -eq 124 || "$status" -eq 137 ]]; then
        log "push of $ref timed out after ${PUSH_TIMEOUT}s"
      else
        log "push of $ref failed (exit $status)"
      fi
      if ((attempt < PUSH_ATTEMPTS)); then
        sleep $((attempt * PUSH_RETRY_PAUSE))
      fi
    done
    die "could not push $ref after $PUSH_ATTEMPTS attempts (network? ecr:PutImage / ecr:InitiateLayerUpload permissions? raise --timeout?)"
  }
  push "$IMAGE:$TAG"
  if [[ "$LATEST" -eq 1 ]]; then push "$IMAGE:latest"; fi

  if [[ "$DRY_RUN" -eq 1 ]]; then
    DIGEST="sha256:<digest>"
  else
    DIGEST="$(existing_digest)"
    [[ "$DIGEST" == sha256:* ]] || die "pushed, but ECR does not list $IMAGE:$TAG (check the repository and region)"
  fi
fi

log "done"
printf 'image:  %s:%s\n' "$IMAGE" "$TAG"
printf 'digest: %s\n' "$DIGEST"
printf 'deploy: npx cdk deploy -c ecrRepository=%s -c imageDigest=%s\n' "$REPOSITORY" "$DIGEST"
