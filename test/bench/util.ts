/** Small shared helpers for the benches: timing, tables, the CLI build, process-tree memory sampling. */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../fixtures/score.js';

export { REPO_ROOT };

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** Renders rows as an aligned text table (first row = header). Numbers are right-aligned. */
export function table(rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths: number[] = [];
  for (const r of cells) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const numeric = (i: number): boolean => rows.slice(1).every((r) => typeof r[i] === 'number' || /^[-\d.]+%?x?$/.test(String(r[i] ?? '')));
  const line = (r: string[]): string => r.map((c, i) => (numeric(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ');
  const out = cells.map(line);
  out.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return out.join('\n');
}

export const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

export interface Timed {
  ms: number;
  code: number | null;
  stderr: string;
  stdout: string;
  /** Peak summed RSS of the process tree (bytes), when sampled. */
  peakRss?: number;
  /** Peak summed PSS of the tree (bytes), when sampled. */
  peakPss?: number;
  /** Per-process RSS at the RSS peak. */
  peakParts?: TreeMemory['parts'];
  /** How many samples were taken. */
  rssSamples?: number;
  /** (ms since start, summed tree RSS bytes) every ~200 ms, when asked for (`timeline`). */
  rssTimeline?: Array<[number, number]>;
  /** Milliseconds the sampler itself spent sampling (on the bench's thread, beside the command). */
  samplerMs?: number;
}

/** Runs a command to completion, measuring wall time (and optionally the tree's peak RSS). */
export function runTimed(bin: string, args: string[], opts: { sampleRss?: boolean; timeline?: boolean; cwd?: string; keepStdout?: boolean; pss?: boolean } = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(bin, args, { cwd: opts.cwd ?? REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const err: Buffer[] = [];
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => {
      if (opts.keepStdout) out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => err.push(c));
    let sampler: TreeSampler | undefined;
    if ((opts.sampleRss || opts.timeline) && child.pid) sampler = new TreeSampler(child.pid, 20, opts.timeline === true, opts.pss ?? true);
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      sampler?.stop();
      resolve({
        ms,
        code,
        stderr: Buffer.concat(err).toString('utf8'),
        stdout: Buffer.concat(out).toString('utf8'),
        peakRss: sampler?.peak,
        rssSamples: sampler?.samples,
        peakPss: sampler?.peakPss,
        peakParts: sampler?.peakParts,
        samplerMs: sampler?.busyMs,
        ...(opts.timeline ? { rssTimeline: sampler?.timeline ?? [] } : {}),
      });
    });
  });
}

/**
 * CPU seconds (user + system) of a command and every process it waited for (node's ffmpeg
 * children included), read from bash's `times`: Node does not report its children's usage.
 */
export function cpuSeconds(bin: string, args: string[], cwd = REPO_ROOT): Promise<{ user: number; sys: number; code: number | null }> {
  const script = '"$@" >/dev/null 2>&1; rc=$?; times; exit $rc';
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script, 'bash', bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      // `times` prints the shell's own usage, then its children's: "0m3.870s 0m0.520s".
      const lines = Buffer.concat(out).toString('utf8').trim().split('\n');
      const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines.at(-1) ?? '');
      if (!m) { reject(new Error(`cpuSeconds: unexpected \`times\` output: ${lines.join(' | ')}`)); return; }
      resolve({ user: Number(m[1]) * 60 + Number(m[2]), sys: Number(m[3]) * 60 + Number(m[4]), code });
    });
  });
}

let pageSize = 0;
function getPageSize(): number {
  if (!pageSize) {
    try {
      pageSize = Number(execFileSync('getconf', ['PAGESIZE']).toString().trim()) || 4096;
    } catch {
      pageSize = 4096;
    }
  }
  return pageSize;
}

interface ProcRow {
  pid: number;
  ppid: number;
  comm: string;
  /** Resident pages. */
  rss: number;
}

/** Reads (pid, ppid, comm, rss pages) of every process from /proc/<pid>/stat. */
function readProcTable(): ProcRow[] {
  const rows: ProcRow[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const row = procRow(Number(name)); // undefined: exited meanwhile
    if (row) rows.push(row);
  }
  return rows;
}

/** Proportional set size (bytes) of one process: shared pages divided among their users. */
function pss(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface TreeMemory {
  /** Sum of RSS (bytes) over the tree: counts shared pages once per process (an upper bound). */
  rss: number;
  /** Sum of PSS (bytes): shared pages split among the processes using them. */
  pss: number;
  /** Per process: "comm pid: MB RSS". */
  parts: Array<{ pid: number; comm: string; rss: number }>;
}

/**
 * The direct children of `pid`, from its main thread's /proc children list (Node and bash
 * start their processes from the main thread), or undefined where the kernel has no such list.
 */
function childrenOf(pid: number): number[] | undefined {
  try {
    const list = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return list ? list.split(' ').map(Number) : [];
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(`/proc/${pid}`) ? undefined : [];
  }
}

/** One process's row from /proc/<pid>/stat, or undefined once it has exited. */
function procRow(pid: number): ProcRow | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: fields resume after the last ')'
  const close = stat.lastIndexOf(')');
  const rest = stat.slice(close + 2).split(' ');
  // rest[0] = state (field 3), rest[1] = ppid (field 4), rest[21] = rss (field 24)
  return { pid, ppid: Number(rest[1]), comm: stat.slice(stat.indexOf('(') + 1, close), rss: Number(rest[21]) };
}

/**
 * Memory of `root` and all its descendants right now. The tree is walked from the root through
 * each process's children list, so a sample reads two small files per process of the tree (four
 * or five), not every process's on the machine: the sampler runs beside the command it measures,
 * on the same two cores, and scanning all of /proc every 20 ms (with PSS every fifth time) took
 * about a sixth of a core from a command that keeps both busy (see README, "Bulk extraction").
 * Kernels without children lists get the full scan.
 */
export function treeMemory(root: number, withPss = true): TreeMemory {
  const rows = treeRows(root) ?? treeRowsByScan(root);
  const page = getPageSize();
  const out: TreeMemory = { rss: 0, pss: 0, parts: [] };
  for (const row of rows) {
    out.rss += row.rss * page;
    out.parts.push({ pid: row.pid, comm: row.comm, rss: row.rss * page });
    if (withPss) out.pss += pss(row.pid);
  }
  return out;
}

/** The tree's processes by their children lists; undefined where the kernel keeps none. */
function treeRows(root: number): ProcRow[] | undefined {
  return walkTree(root, procRow, childrenOf);
}

/** The tree's processes from a scan of every process on the machine, linked by parent. */
function treeRowsByScan(root: number): ProcRow[] {
  const byPid = new Map<number, ProcRow>();
  const children = new Map<number, number[]>();
  for (const r of readProcTable()) {
    byPid.set(r.pid, r);
    const list = children.get(r.ppid);
    if (list) list.push(r.pid);
    else children.set(r.ppid, [r.pid]);
  }
  return walkTree(root, (p) => byPid.get(p), (p) => children.get(p) ?? []) ?? [];
}

/**
 * Depth-first from `root`: each process's row (skipped once it has exited) and its children;
 * undefined as soon as `kidsOf` cannot tell.
 */
function walkTree(root: number, rowOf: (pid: number) => ProcRow | undefined, kidsOf: (pid: number) => number[] | undefined): ProcRow[] | undefined {
  const rows: ProcRow[] = [];
  const stack = [root];
  const seen = new Set<number>();
  while (stack.length) {
    const p = stack.pop() as number;
    if (seen.has(p)) continue;
    seen.add(p);
    const row = rowOf(p);
    if (!row) continue;
    const kids = kidsOf(p);
    if (kids === undefined) return undefined;
    rows.push(row);
    stack.push(...kids);
  }
  return rows;
}

/** Sum of RSS (bytes) of `root` and all its descendants right now. */
export function treeRss(root: number): number {
  return treeMemory(root, false).rss;
}

/**
 * Samples the memory of a process tree every `everyMs` (default 20 ms), keeping the peak summed RSS,
 * the peak summed PSS (sampled every 5th time) and the per-process breakdown at the RSS peak.
 */
export class TreeSampler {
  peak = 0;
  peakPss = 0;
  peakParts: TreeMemory['parts'] = [];
  samples = 0;
  /** Time spent in sample() so far (ms). */
  busyMs = 0;
  /** With `record`: (ms since start, summed RSS) of every 10th sample. */
  readonly timeline: Array<[number, number]> = [];
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly t0 = performance.now();
  /** `withPss`: also the PSS, every 5th sample (smaps_rollup walks every mapping: the costly part). */
  constructor(private readonly root: number, everyMs = 20, private readonly record = false, private readonly withPss = true) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  private sample(): void {
    const start = performance.now();
    // PSS (smaps_rollup walks every mapping) only on every 5th sample, to keep the 20 ms cadence cheap
    const m = treeMemory(this.root, this.withPss && this.samples % 5 === 0);
    if (this.record && this.samples % 10 === 0 && m.rss > 0) this.timeline.push([performance.now() - this.t0, m.rss]);
    this.samples++;
    if (m.rss > this.peak) {
      this.peak = m.rss;
      this.peakParts = m.parts;
    }
    if (m.pss > this.peakPss) this.peakPss = m.pss;
    this.busyMs += performance.now() - start;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

const newestMtime = (dir: string): number => {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
};

/**
 * Makes sure bin/frames.js can run: compiles src/ to dist/ (`npm run build`) when dist is missing
 * or older than src/. Throws with the compiler output when the build fails.
 */
export async function ensureCliBuilt(): Promise<void> {
  const main = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
  const src = path.join(REPO_ROOT, 'src');
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(src)) return;
  console.log('building the CLI (npm run build: tsc -p tsconfig.build.json) ...');
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = await runTimed(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { keepStdout: true });
  if (r.code !== 0 || !existsSync(main)) {
    throw new Error(`npm run build failed (exit ${r.code}), so bin/frames.js cannot run:\n${(r.stdout + r.stderr).split('\n').slice(0, 30).join('\n')}`);
  }
}

export const CLI = path.join(REPO_ROOT, 'bin', 'frames.js');

/** ensureCliBuilt for a bench: false (after printing FAIL and marking the run failed) when the CLI cannot be built. */
export async function cliReady(): Promise<boolean> {
  try {
    await ensureCliBuilt();
    return true;
  } catch (e) {
    console.log(`FAIL: ${(e as Error).message}`);
    fail();
    return false;
  }
}

/** Marks the process as failed without cutting the output short. */
export function fail(): void {
  process.exitCode = 1;
}
