/**
 * The extraction engine: video in, frames out. Imports nothing from service/, adapters/, lambda or cli.
 *
 * @example
 * ```ts
 * const run = extractFrames('clip.mp4', { mode: 'scene', format: 'jpeg' });
 * for (let r = await run.next(); ; r = await run.next()) {
 *   if (r.done) { console.log(r.value.scenes.length, 'scenes'); break; }
 *   await fs.writeFile(`${r.value.index}.${r.value.ext}`, r.value.data);
 * }
 * ```
 */
export * from './types.js';
export { detectScenes } from './detect-scenes.js';
export { extractFrames, collectFrames } from './extract.js';
export { probeVideo } from './probe.js';
export { resolveFfmpeg } from './ffmpeg.js';
export { buildManifest, TOOL_NAME, TOOL_VERSION } from './manifest.js';
