/**
 * push-image.sh, run for real against stand-ins for `aws` and `docker` on PATH (recording every
 * call), with the real `git` and coreutils `timeout`: flags Lambda needs, repository creation, login
 * through stdin, retry after a timed-out push, and clear errors.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = path.join(REPO_ROOT, 'push-image.sh');
const DIGEST = `sha256:${'cd'.repeat(32)}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  calls: string[];
}

let dir: string;

/** Stubs: `aws` answers like ECR would, `docker push` hangs on the first N attempts. */
function writeStubs(opts: { repoExists: boolean; hangingPushes: number; loginFails?: boolean }): void {
  const log = path.join(dir, 'calls.log');
  const state = path.join(dir, 'pushes');
  writeFileSync(state, '0');
  const aws = `#!/usr/bin/env bash
echo "aws $*" >> ${JSON.stringify(log)}
case "$1 $2" in
  "sts get-caller-identity") echo 123456789012 ;;
  "ecr describe-repositories") exit ${opts.repoExists ? 0 : 254} ;;
  "ecr create-repository") echo '{}' ;;
  "ecr get-login-password") echo secret-password ;;
  "ecr describe-images") if [ "$(cat ${JSON.stringify(state)})" -gt ${opts.hangingPushes} ]; then echo ${DIGEST}; else echo "ImageNotFoundException" >&2; exit 254; fi ;;
  "configure get") echo eu-west-1 ;;
  *) echo "unexpected aws call: $*" >&2; exit 2 ;;
esac
`;
  const docker = `#!/usr/bin/env bash
echo "docker $*" >> ${JSON.stringify(log)}
case "$1" in
  login) pw="$(cat)"; echo "login-stdin $pw" >> ${JSON.stringify(log)}; exit ${opts.loginFails ? 1 : 0} ;;
  buildx) exit 0 ;;
  push) n=$(( $(cat ${JSON.stringify(state)}) + 1 )); echo "$n" > ${JSON.stringify(state)}
        if [ "$n" -le ${opts.hangingPushes} ]; then exec sleep 30; fi; exit 0 ;;
  *) echo "unexpected docker call: $*" >&2; exit 2 ;;
esac
`;
  writeFileSync(path.join(dir, 'aws'), aws);
  writeFileSync(path.join(dir, 'docker'), docker);
  chmodSync(path.join(dir, 'aws'), 0o755);
  chmodSync(path.join(dir, 'docker'), 0o755);
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [SCRIPT, ...args],
      {
        cwd: REPO_ROOT,
        timeout: 60_000,
        env: { PATH: `${dir}:${process.env.PATH ?? ''}`, HOME: dir, AWS_REGION: 'eu-west-1', PUSH_RETRY_PAUSE: '0', ...env },
      },
      (err, stdout, stderr) => {
        const logFile = path.join(dir, 'calls.log');
        const calls = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n') : [];
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, calls });
      },
    );
  });
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'push-image-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('push-image.sh', () => {
  it('prints usage with --help and exits 0', async () => {
    writeStubs({ repoExists: true, hangingPushes: 0 });
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: \.\/push-image\.sh/);
    expect(r.stdout).toMatch(/provenance and SBOM attestations off/);
    expect(r.calls).toEqual([]);
  });

  it('creates the repository, logs in through stdin, builds amd64 without attestations, pushes and prints the digest', async () => {
    // Prepare
    writeStubs({ repoExists: false, hangingPushes: 0 });
    // Act
    const r = await run(['--tag', 'abc123', '--repository', 'scene-frames']);
    // Assess
    expect(r.code).toBe(0);
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/scene-frames';
    expect(r.calls).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^aws ecr create-repository --repository-name scene-frames .*scanOnPush=true .*IMMUTABLE/),
        'docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        'login-stdin secret-password',
        `docker buildx build --platform linux/amd64 --provenance=false --sbom=false --file docker/Dockerfile --tag ${image}:abc123 --load .`,
        `docker push ${image}:abc123`,
      ]),
    );
    expect(r.calls.join('\n')).not.toMatch(/docker login .*secret-password/); // never on the command line
    expect(r.stdout).toContain(`digest: ${DIGEST}`);
    expect(r.stdout).toContain(`npx cdk deploy -c ecrRepository=scene-frames -c imageDigest=${DIGEST}`);
  });

  it('retries a push that exceeds --timeout and then succeeds', async () => {
    writeStubs({ repoExists: true, hangingPushes: 1 });
    const r = await run(['--tag', 'abc123', '--timeout', '1', '--attempts', '2']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/timed out after 1s/);
    expect(r.calls.filter((c) => c.startsWith('docker push'))).toHaveLength(2);
    expect(r.calls.some((c) => c.startsWith('aws ecr create-repository'))).toBe(false);
  }, 30_000);

  it('gives up with a clear error when every push times out', async () => {
    writeStubs({ repoExists: true, hangingPushes: 5 });
    const r = await run(['--tag', 'abc123', '--timeout', '1', '--attempts', '2']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/error: could not push .*:abc123 after 2 attempts/);
  }, 30_000);

  it('fails clearly when docker login fails, before building', async () => {
    writeStubs({ repoExists: true, hangingPushes: 0, loginFails: true });
    const r = await run(['--tag', 'abc123']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/error: docker login to .* failed/);
    expect(r.calls.some((c) => c.startsWith('docker buildx'))).toBe(false);
  });

  it('rejects unknown options and bad values', async () => {
    writeStubs({ repoExists: true, hangingPushes: 0 });
    expect((await run(['--bogus'])).stderr).toMatch(/unknown option: --bogus/);
    expect((await run(['--timeout', 'soon'])).stderr).toMatch(/--timeout must be a positive number/);
    expect((await run(['--repository', 'Bad Name'])).stderr).toMatch(/invalid repository name/);
  });

  it('tags with the git sha by default', async () => {
    writeStubs({ repoExists: true, hangingPushes: 0 });
    const r = await run(['--dry-run', '--allow-dirty']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^image: {2}123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/scene-frames:[0-9a-f]{12}(-dirty-\d{14})?$/m);
  });
});
