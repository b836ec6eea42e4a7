/**
 * `npm run bench [-- accuracy|speed|memory|service|rate|bulk ...] [--quick]`: runs the named benches
 * (none = all) in that order and exits non-zero when any misses its target or cannot run.
 * `--quick` (BENCH_QUICK=1) leaves out what takes longest: the bulk bench's 20 minute film.
 * `npm run bench -- replay [options]` runs the replay tool alone (test/bench/replay.ts: its options).
 */
const KNOWN = ['accuracy', 'speed', 'memory', 'service', 'rate', 'bulk'] as const;
type Bench = (typeof KNOWN)[number];

async function runOne(name: Bench): Promise<void> {
  switch (name) {
    case 'accuracy':
      return (await import('./accuracy.js')).run();
    case 'speed':
      return (await import('./speed.js')).run();
    case 'memory':
      return (await import('./memory.js')).run();
    case 'rate':
      return (await import('./rate.js')).run();
    case 'bulk':
      return (await import('./bulk.js')).run();
    case 'service': {
      let mod: { benchService?: () => Promise<void> };
      try {
        mod = (await import('./service.js')) as { benchService?: () => Promise<void> };
      } catch (e) {
        console.log(`== service\nFAIL: test/bench/service.ts is missing or does not load: ${(e as Error).message}`);
        process.exitCode = 1;
        return;
      }
      if (typeof mod.benchService !== 'function') {
        console.log('== service\nFAIL: test/bench/service.ts exports no benchService()');
        process.exitCode = 1;
        return;
      }
      return mod.benchService();
    }
  }
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--quick')) process.env.BENCH_QUICK = '1';
  const args = argv.filter((a) => a !== '--' && a !== '--quick');
  if (args[0] === 'replay') {
    try {
      await (await import('./replay.js')).run(args.slice(1));
    } catch (e) {
      console.error(`replay: ${(e as Error).message}`);
      process.exitCode = 2;
    }
    return;
  }
  const unknown = args.filter((a) => !(KNOWN as readonly string[]).includes(a));
  if (unknown.length) {
    console.error(`unknown bench: ${unknown.join(', ')} (choose from ${KNOWN.join(', ')}, or none for all; or replay alone)`);
    process.exitCode = 2;
    return;
  }
  const chosen = (args.length ? args : [...KNOWN]) as Bench[];
  const results: string[] = [];
  for (const name of chosen) {
    const before = process.exitCode;
    process.exitCode = 0;
    const t0 = performance.now();
    try {
      await runOne(name);
    } catch (e) {
      console.log(`FAIL: bench ${name} crashed: ${(e as Error).stack ?? String(e)}`);
      process.exitCode = 1;
    }
    const ok = !process.exitCode;
    results.push(`${name}: ${ok ? 'PASS' : 'FAIL'} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    if (before && before !== 0) process.exitCode = before;
    else if (!ok) process.exitCode = 1;
    console.log('');
  }
  console.log(`== summary\n${results.join('\n')}`);
}

await main(process.argv.slice(2));
