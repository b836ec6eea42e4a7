/**
 * The opt-in per-frame score trace (`DetectOptions.traceScores`): each analysed frame's cut-rule
 * content score against the previous analysed frame, the number the detector compares with its
 * threshold. Recomputed from the same signatures beside the detector, so the detector is untouched.
 */
import { contentDistance, type Signature } from './signature.js';
import type { DetectionResult, ScorePoint } from './types.js';

/** Collects the trace: push every analysed frame in decoded order, then take `result()`. */
export class ScoreTrace {
  private prev: Signature | null = null;
  private readonly points: ScorePoint[] = [];

  constructor(private readonly threshold: number) {}

  push(frame: number, time: number, sig: Signature): void {
    const score = this.prev ? contentDistance(this.prev, sig) : 0;
    this.points.push({ frame, time: Math.round(time * 1000) / 1000, score: Math.round(score * 100) / 100 });
    this.prev = sig;
  }

  result(): NonNullable<DetectionResult['scoreTrace']> {
    return { threshold: this.threshold, points: this.points };
  }
}
