/**
 * Start a throw-away PostgreSQL server from the machine's server binaries (initdb, pg_ctl), on
 * 127.0.0.1 with a random free port, data and socket in a temp dir. initdb refuses to run as root,
 * so as root the server runs as the `postgres` user (runuser). Supabase's roles (anon,
 * authenticated, service_role) are created so the migrations apply unchanged.
 *
 * @example
 * ```ts
 * const pgs = await startPostgres();
 * await applyMigrations(pgs.connectionString);
 * await pgs.stop();
 * ```
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PostgresServer {
  host: string;
  port: number;
  connectionString: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Locate the PostgreSQL server binaries: $PG_BIN, /usr/lib/postgresql/<newest>/bin, or PATH. */
export function findPgBin(): string {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    for (const v of readdirSync(base).sort((a, b) => Number(b) - Number(a))) candidates.push(path.join(base, v, 'bin'));
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) candidates.push(dir);
  for (const dir of candidates) if (dir && existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'))) return dir;
  throw new Error(
    'PostgreSQL server binaries (initdb, pg_ctl) not found. Install them (Debian: apt-get install postgresql) or set PG_BIN to their directory, e.g. /usr/lib/postgresql/15/bin.',
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function uidGidOf(user: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const passwd = await readFile('/etc/passwd', 'utf8');
    const line = passwd.split('\n').find((l) => l.startsWith(`${user}:`));
    if (!line) return undefined;
    const parts = line.split(':');
    return { uid: Number(parts[2]), gid: Number(parts[3]) };
  } catch {
    return undefined;
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPgBin();
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'frames-pg-'));
  const dataDir = path.join(dir, 'data');
  let asUser = (cmd: string, args: string[]) => run(cmd, args, { timeout: 60_000 });
  if (isRoot) {
    const ids = await uidGidOf('postgres');
    if (!ids) throw new Error('running as root, but there is no `postgres` user to run initdb/postgres as (initdb refuses root). Create one: useradd -r postgres');
    await chown(dir, ids.uid, ids.gid);
    await chmod(dir, 0o700);
    asUser = (cmd, args) => run('runuser', ['-u', 'postgres', '--', cmd, ...args], { timeout: 60_000 });
  }
  await asUser(path.join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--locale=C']);
  let lastErr: unknown;
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50`;
    try {
      await asUser(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-o', opts, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '30', 'start']);
      const connectionString = `postgres://postgres@127.0.0.1:${port}/postgres`;
      const client = new pg.Client({ connectionString });
      await client.connect();
      await client.query(`do $$ begin
        if not exists (select 1 from pg_roles where rolname='anon') then create role anon nologin; end if;
        if not exists (select 1 from pg_roles where rolname='authenticated') then create role authenticated nologin; end if;
        if not exists (select 1 from pg_roles where rolname='service_role') then create role service_role nologin bypassrls; end if;
      end $$;`);
      await client.end();
      return {
        host: '127.0.0.1',
        port,
        connectionString,
        dataDir,
        stop: async () => {
          await asUser(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastErr = err;
      const log = await readFile(path.join(dir, 'postgres.log'), 'utf8').catch(() => '');
      if (!/could not bind|address already in use/i.test(log)) break;
    }
  }
  const log = await readFile(path.join(dir, 'postgres.log'), 'utf8').catch(() => '');
  await rm(dir, { recursive: true, force: true });
  throw new Error(`could not start PostgreSQL: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}\n${log.slice(-2000)}`);
}

/** Apply supabase/migrations/*.sql in name order. */
export async function applyMigrations(connectionString: string, dir = path.join(process.cwd(), 'supabase', 'migrations')): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    for (const f of files) await client.query(await readFile(path.join(dir, f), 'utf8'));
  } finally {
    await client.end();
  }
  return files;
}
