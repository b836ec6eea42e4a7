/** OpenTimelineIO JSON: a Timeline with one video track of clips, one per scene, cut from the source file. */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sceneLength, type SceneList } from './scene-list.js';
import { nominalRate, secondsToFrames } from './timecode.js';

interface RationalTime { OTIO_SCHEMA: 'RationalTime.1'; rate: number; value: number }
interface TimeRange { OTIO_SCHEMA: 'TimeRange.1'; start_time: RationalTime; duration: RationalTime }

const time = (value: number, rate: number): RationalTime => ({ OTIO_SCHEMA: 'RationalTime.1', rate, value });
const range = (start: number, duration: number, rate: number): TimeRange => ({
  OTIO_SCHEMA: 'TimeRange.1', start_time: time(start, rate), duration: time(duration, rate),
});

/**
 * An OTIO document (`Timeline.1` > `Stack.1` > one `Track.1` of kind Video > `Clip.2` per scene).
 * Each clip's `source_range` is the scene in frames at the nominal rate, its media reference an
 * `ExternalReference.1` to the video's file URL covering the whole video; the scene's own numbers
 * (frames, seconds, transition, confidence) are in the clip's `metadata.scene_frames`.
 */
export function toOtio(list: SceneList, options: { name?: string } = {}): object {
  const r = nominalRate(list.video.fps);
  const rate = r.num / r.den;
  const total = secondsToFrames(list.video.durationSec, r);
  const target = pathToFileURL(path.resolve(list.video.path)).href;
  const name = options.name ?? path.basename(list.video.path);
  const clips = [];
  for (const s of list.scenes) {
    const inF = secondsToFrames(s.startTime, r);
    const outF = secondsToFrames(s.endTime, r);
    if (outF <= inF) continue;
    clips.push({
      OTIO_SCHEMA: 'Clip.2',
      name: `Scene ${s.index + 1}`,
      source_range: range(inF, outF - inF, rate),
      media_references: {
        DEFAULT_MEDIA: { OTIO_SCHEMA: 'ExternalReference.1', name, target_url: target, available_range: range(0, total, rate), available_image_bounds: null, metadata: {} },
      },
      active_media_reference_key: 'DEFAULT_MEDIA',
      effects: [],
      markers: [],
      enabled: true,
      metadata: {
        scene_frames: {
          index: s.index, startFrame: s.startFrame, endFrame: s.endFrame, startTime: s.startTime, endTime: s.endTime,
          lengthFrames: sceneLength(s).frames, transitionIn: s.transitionIn, confidence: s.confidence ?? null,
        },
      },
    });
  }
  const item = (schema: string, nm: string, extra: object) => ({
    OTIO_SCHEMA: schema, name: nm, source_range: null, effects: [], markers: [], enabled: true, metadata: {}, ...extra,
  });
  return {
    OTIO_SCHEMA: 'Timeline.1',
    name,
    global_start_time: time(0, rate),
    metadata: { scene_frames: { video: list.video } },
    tracks: item('Stack.1', 'tracks', { children: [item('Track.1', 'V1', { kind: 'Video', children: clips })] }),
  };
}
