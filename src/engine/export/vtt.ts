/** WebVTT chapters: one cue per scene, for a `<track kind="chapters">` or a player's chapter menu. */
import { confidenceText, type SceneList } from './scene-list.js';
import { secondsToClock } from './timecode.js';

/**
 * A WebVTT file with one chapter cue per scene (`Scene N`, with how it began), from its start to
 * its end time. Cue identifiers are the 1-based scene numbers.
 */
export function toWebVtt(list: SceneList): string {
  const out = ['WEBVTT', `NOTE ${vttNote(list.video.path)}: ${list.scenes.length} scenes`, ''];
  for (const s of list.scenes) {
    // A cue must end after it starts; a degenerate last scene still gets a millisecond.
    const end = Math.max(s.endTime, s.startTime + 0.001);
    const how = s.transitionIn ? ` (${s.transitionIn}${confidenceText(s.confidence) ? `, confidence ${confidenceText(s.confidence)}` : ''})` : '';
    out.push(String(s.index + 1), `${secondsToClock(s.startTime)} --> ${secondsToClock(end)}`, `Scene ${s.index + 1}${how}`, '');
  }
  return out.join('\n');
}

/** A NOTE may not contain "-->" nor span lines. */
function vttNote(text: string): string {
  return text.replace(/-->/g, '->').replace(/[\r\n]+/g, ' ');
}
