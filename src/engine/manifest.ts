/** The manifest written next to the frames: what was extracted, from where, with which settings. */
import { createRequire } from 'node:module';
import type { ExtractionResult, Manifest } from './types.js';

export const TOOL_NAME = 'scene-frames';
export const TOOL_VERSION: string = (() => {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    try {
      return (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
    } catch {
      return '0.0.0';
    }
  }
})();

export function buildManifest(result: ExtractionResult, now: Date = new Date()): Manifest {
  return {
    video: result.video,
    scenes: result.scenes,
    cuts: result.cuts,
    warnings: result.warnings,
    frames: result.frames,
    fallbackUsed: result.fallbackUsed,
    duplicateScenes: result.duplicateScenes,
    settings: result.settings,
    tool: { name: TOOL_NAME, version: result.toolVersion },
    createdAt: now.toISOString(),
  };
}
