/**
 * Start fauxqs (S3 + SQS emulator) as a child process on 127.0.0.1 with a random free port.
 * The child runs fauxqs' own `buildApp` and listens on loopback only; it prints its address once ready.
 *
 * @example
 * ```ts
 * const fq = await startFauxqs();
 * const s3 = new S3Client({ endpoint: fq.endpoint, forcePathStyle: true, region: 'us-east-1' });
 * await fq.stop();
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface FauxqsServer {
  endpoint: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

function fauxqsEntry(): string {
  // fauxqs exports only an ESM entry; find it on disk from the project root upwards.
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    const entry = path.join(dir, 'node_modules', 'fauxqs', 'dist', 'app.js');
    if (existsSync(entry)) return pathToFileURL(entry).href;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error('fauxqs is not installed (npm i -D fauxqs)');
}

export async function startFauxqs(opts: { timeoutMs?: number } = {}): Promise<FauxqsServer> {
  const entry = fauxqsEntry();
  const script = `
    const { buildApp } = await import(${JSON.stringify(entry)});
    const app = buildApp({ logger: false });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    process.stdout.write(JSON.stringify({ address }) + '\\n');
    const stop = () => app.close().finally(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('disconnect', stop);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FAUXQS_LOGGER: 'false' } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`fauxqs did not start within ${opts.timeoutMs ?? 15000} ms: ${stderr}`)), opts.timeoutMs ?? 15000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { address: string }).address);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fauxqs exited with code ${code}: ${stderr}`));
    });
  });
  child.stdout?.removeAllListeners('data');
  child.stdout?.resume();
  const port = Number(new URL(address).port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
