/**
 * The minimum scene length rule (PySceneDetect's `min_scene_len`), the only place it is applied:
 * no scene starts less than `minSceneLenSec` after the previous one began (the first scene begins
 * with the video), and two gradual transitions with less than that between them are one slow
 * transition seen twice (the detector extends the first).
 */
export class MinSceneLength {
  constructor(private readonly sec: number, private readonly enabled = true) {}

  /** A new scene may begin at `time` when the current one began at `currentStart`. */
  allows(time: number, currentStart: number): boolean {
    return !this.enabled || time - currentStart >= this.sec;
  }

  /** A transition starting at `start` continues the one that ended at `previousEnd`. */
  joins(previousEnd: number, start: number): boolean {
    return this.enabled && start - previousEnd < this.sec;
  }
}
