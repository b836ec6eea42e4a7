/** CMX3600 edit decision list: one cut event per scene, source and record timecodes at the nominal rate. */
import path from 'node:path';
import { confidenceText, type SceneList } from './scene-list.js';
import { framesToTimecode, nominalRate, secondsToFrames } from './timecode.js';

/** CMX3600 reel names are at most 8 characters; `AX` is the usual name for a file source. */
const REEL = 'AX';

/**
 * A CMX3600 EDL: `TITLE:`, `FCM: DROP FRAME` or `NON-DROP FRAME`, then per scene one video cut
 * event (`001  AX       V     C        srcIn srcOut recIn recOut`, out points exclusive) with
 * `* FROM CLIP NAME:` and a comment naming how the scene began. The record side starts at
 * 00:00:00:00 and follows the source (the scenes laid end to end are the whole video).
 */
export function toEdl(list: SceneList, options: { title?: string } = {}): string {
  const rate = nominalRate(list.video.fps);
  const clip = path.basename(list.video.path);
  const title = (options.title ?? clip.replace(/\.[^.]+$/, '')).replace(/[\r\n]+/g, ' ').slice(0, 70);
  const lines = [`TITLE: ${title}`, `FCM: ${rate.dropFrame ? 'DROP FRAME' : 'NON-DROP FRAME'}`, ''];
  let event = 0;
  for (const s of list.scenes) {
    const inF = secondsToFrames(s.startTime, rate);
    const outF = secondsToFrames(s.endTime, rate);
    if (outF <= inF) continue; // shorter than one frame at the nominal rate: nothing to edit
    event++;
    const tcIn = framesToTimecode(inF, rate);
    const tcOut = framesToTimecode(outF, rate);
    lines.push(`${String(event).padStart(3, '0')}  ${REEL.padEnd(8)} ${'V'.padEnd(5)} ${'C'.padEnd(8)} ${tcIn} ${tcOut} ${tcIn} ${tcOut}`);
    lines.push(`* FROM CLIP NAME: ${clip}`);
    const conf = confidenceText(s.confidence);
    lines.push(`* SCENE ${s.index + 1}: ${s.transitionIn ? `begins with a ${s.transitionIn}` : 'first scene'}${conf ? `, confidence ${conf}` : ''}`);
    lines.push('');
  }
  return lines.join('\n');
}
