/**
 * The chaos run (scripts/chaos.ts) in its small CI size: ~60 messages through the Lambda handler
 * against the local stack while S3, Supabase, ffmpeg and the clock misbehave. Nothing may be lost
 * or extracted twice, and every check of the run must pass.
 */
import { runChaos } from '../../scripts/chaos.js';

describe('chaos (small)', () => {
  it('loses nothing and extracts nothing twice under S3, Supabase, ffmpeg and deadline faults', async () => {
    // Prepare
    const messages = Number(process.env.CHAOS_MESSAGES ?? 60);
    const seed = Number(process.env.CHAOS_SEED ?? 20250101);
    // Act
    const report = await runChaos({ messages, seed, timeoutMs: 150_000 });
    // Assess
    process.stderr.write(`${report.line} (seed ${report.seed}, ${(report.durationMs / 1000).toFixed(1)} s)\n`);
    expect(report.problems).toEqual([]);
    expect(report.lost).toBe(0);
    expect(report.duplicates).toBe(0);
    expect(report.sent).toBe(messages);
    expect(report.extracted + report.permanent + report.dlq).toBe(report.sent);
    expect(report.goodVideosExtracted).toBe(report.goodVideos);
    // The faults really happened, at the rates the issue asks for.
    expect(report.faults.s3Faults / report.faults.s3Requests).toBeGreaterThanOrEqual(0.2);
    expect(report.faults.supabaseFaults / report.faults.supabaseCalls).toBeGreaterThanOrEqual(0.1);
    expect(report.faults.noTimeBatches).toBeGreaterThan(0);
    expect(report.faults.tightTimeBatches).toBeGreaterThan(0);
    expect(report.receives).toBeGreaterThan(report.sent);
  }, 240_000);
});
