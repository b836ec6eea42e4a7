/**
 * Frame uploads started as each frame is encoded, at most `concurrency` in flight (bounded memory:
 * the engine waits while the network is behind). The first failure aborts `abortOnFailure`, so the
 * engine stops instead of encoding frames nobody will upload.
 *
 * @example
 * ```ts
 * const uploads = new FrameUploads((key, frame) => put(key, frame), 8, internal);
 * for await (const frame of frames) { uploads.start(key(frame), frame); await uploads.room(); }
 * await uploads.drain(); // throws the first upload error
 * ```
 */
import type { EncodedFrame } from '../engine/types.js';

export class FrameUploads {
  readonly keys: string[] = [];
  bytes = 0;
  #inflight = new Set<Promise<void>>();
  #error: { err: unknown } | undefined;
  readonly #put: (key: string, frame: EncodedFrame) => Promise<void>;
  readonly #concurrency: number;
  readonly #abortOnFailure: AbortController;

  constructor(put: (key: string, frame: EncodedFrame) => Promise<void>, concurrency: number, abortOnFailure: AbortController) {
    this.#put = put;
    this.#concurrency = concurrency;
    this.#abortOnFailure = abortOnFailure;
  }

  /** The first upload failure, if any. */
  get failure(): { err: unknown } | undefined {
    return this.#error;
  }

  start(key: string, frame: EncodedFrame): void {
    this.keys.push(key);
    const p: Promise<void> = this.#put(key, frame).then(
      () => void (this.bytes += frame.spooled?.bytes ?? frame.data.length),
      (err: unknown) => {
        if (this.#error) return;
        this.#error = { err };
        this.#abortOnFailure.abort(err);
      },
    );
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  /** Wait until fewer than `concurrency` uploads are in flight; throws the first upload error. */
  async room(): Promise<void> {
    while (this.#inflight.size >= this.#concurrency) await Promise.race(this.#inflight);
    if (this.#error) throw this.#error.err;
  }

  /** Wait for every upload to settle (never throws). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#inflight]);
  }

  /** Wait for every upload; throws the first upload error. */
  async drain(): Promise<void> {
    await this.settle();
    if (this.#error) throw this.#error.err;
  }
}
