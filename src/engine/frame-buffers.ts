/** Reading the decode pass's output: fixed-size frame buffers from the pipes, and the showinfo lines on stderr. */

/** Free list of equal-size frame buffers. */
export class BufferPool {
  private readonly free: Buffer[] = [];
  constructor(private readonly size: number) {}
  acquire(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }
  release(b: Buffer): void {
    // Every buffer is kept for reuse: the pool never holds more than the most ever in use at once
    // (bounded by the reservoir and the chunks' ahead budget), while a dropped megabyte buffer
    // waits for a major GC. Measured on 1080p (`npm run bench -- memory`, Node 22): peak tree RSS
    // 287 / 299 MB (1 / 5 min) keeping 4 spare buffers, 259 / 266 MB keeping all.
    if (b.length === this.size) this.free.push(b);
  }
}

/** Collects stream chunks into fixed-size frames, copying each byte once. */
export class ChunkQueue {
  private chunks: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly frameSize: number, private readonly pool?: BufferPool) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.bytes += b.length;
  }
  ready(): boolean {
    return this.bytes >= this.frameSize;
  }
  take(): Buffer {
    const size = this.frameSize;
    const out = this.pool ? this.pool.acquire() : Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const c = this.chunks[0] as Buffer;
      const n = Math.min(c.length, size - off);
      c.copy(out, off, 0, n);
      off += n;
      if (n === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(n);
    }
    this.bytes -= size;
    return out;
  }
}

/** What one frame's `showinfo` line says. */
export interface ShowinfoMeta {
  pts: number;
  keyframe: boolean;
  width: number;
  height: number;
}

export interface ShowinfoState {
  /** Time base of each labelled showinfo filter, from its `config in time_base` line. */
  tb: Record<'ana' | 'cand', number>;
  decodeErrors: number;
}

/**
 * Read one ffmpeg stderr line for the decode pass: a frame line of `showinfo@ana` or
 * `showinfo@cand` is returned; time bases and decode errors are recorded in `state`.
 */
export function readShowinfoLine(line: string, state: ShowinfoState): { which: 'ana' | 'cand'; meta: ShowinfoMeta } | null {
  const m = /^\[showinfo@(ana|cand) @ [^\]]+\] (.*)$/.exec(line);
  if (!m) {
    if (/error while decoding|concealing|corrupt/i.test(line)) state.decodeErrors++;
    return null;
  }
  const which = m[1] as 'ana' | 'cand';
  const body = m[2] as string;
  if (body.startsWith('config in time_base')) {
    const r = /time_base: (\d+)\/(\d+)/.exec(body);
    if (r) state.tb[which] = Number(r[1]) / Number(r[2]);
    return null;
  }
  const n = /^n:\s*\d+ pts:\s*(-?\d+)/.exec(body);
  if (!n) return null;
  const size = /s:(\d+)x(\d+)/.exec(body);
  return { which, meta: { pts: Number(n[1]), keyframe: /iskey:1/.test(body), width: size ? Number(size[1]) : 0, height: size ? Number(size[2]) : 0 } };
}
