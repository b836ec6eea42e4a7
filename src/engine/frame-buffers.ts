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

/**
 * Splits a stream of concatenated JPEG images (ffmpeg's `image2pipe` muxer) into one buffer per
 * image. Segments are walked by their lengths up to the scan, then the entropy-coded data is
 * scanned for the next marker that is not a stuffed byte (FF 00) or a restart (FF D0-D7): the
 * end of image. A search for FF D9 alone could end inside a header (a quantisation table may hold
 * those bytes).
 */
export class JpegQueue {
  /** The current image's bytes so far, in one buffer reused for every image (grown by doubling). */
  private acc: Buffer = Buffer.allocUnsafe(256 * 1024);
  private len = 0;
  /** Parse state of the current image, in bytes from its start. */
  private pos = 0;
  private inScan = false;
  private readonly images: Buffer[] = [];

  push(b: Buffer): void {
    if (this.len + b.length > this.acc.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.acc.length, this.len + b.length));
      this.acc.copy(grown, 0, 0, this.len);
      this.acc = grown;
    }
    b.copy(this.acc, this.len);
    this.len += b.length;
    for (;;) {
      const end = this.scan();
      if (!end) return;
      // A copy of its own: the accumulator is reused for the next image.
      this.images.push(Buffer.from(this.acc.subarray(0, end)));
      this.acc.copyWithin(0, end, this.len);
      this.len -= end;
      this.pos = 0;
      this.inScan = false;
    }
  }

  ready(): boolean {
    return this.images.length > 0;
  }

  take(): Buffer {
    const b = this.images.shift();
    if (!b) throw new Error('JpegQueue: no complete image');
    return b;
  }

  /** Bytes received that do not complete an image (at the end of the stream: a truncated one). */
  get leftover(): number {
    return this.len;
  }

  /** The length of the first image if it is complete, else 0 (state kept for the next call). */
  private scan(): number {
    const b = this.acc.subarray(0, this.len);
    if (this.pos === 0) {
      if (b.length < 2) return 0;
      if (b[0] !== 0xff || b[1] !== 0xd8) throw new Error(`ffmpeg's JPEG stream is out of step: expected an image start, got 0x${b.subarray(0, 2).toString('hex')}`);
      this.pos = 2;
    }
    let p = this.pos;
    while (!this.inScan) {
      if (p + 2 > b.length) { this.pos = p; return 0; }
      if (b[p] !== 0xff) throw new Error(`ffmpeg's JPEG stream is out of step: expected a marker at byte ${p}`);
      const marker = b[p + 1] as number;
      if (marker === 0xff) { p++; continue; } // fill byte
      if (marker === 0xd9) { this.pos = p; return p + 2; }
      if (p + 4 > b.length) { this.pos = p; return 0; }
      const len = b.readUInt16BE(p + 2);
      if (p + 2 + len > b.length) { this.pos = p; return 0; }
      p += 2 + len;
      if (marker === 0xda) this.inScan = true; // start of scan: entropy-coded data follows
    }
    for (;;) {
      const i = b.indexOf(0xff, p);
      if (i < 0 || i + 1 >= b.length) { this.pos = i < 0 ? b.length : i; return 0; }
      const m = b[i + 1] as number;
      if (m === 0x00 || m === 0xff || (m >= 0xd0 && m <= 0xd7)) { p = i + (m === 0xff ? 1 : 2); continue; }
      if (m === 0xd9) return i + 2;
      // Another segment between scans (progressive or multi-scan images): walk it as a header.
      this.inScan = false;
      this.pos = i;
      return this.scan();
    }
  }
}

/** A JPEG that ffmpeg wrote to a file itself (`spool`): where, and its size. */
export interface SpooledJpeg {
  path: string;
  bytes: number;
}

/**
 * The JPEGs of a spooled decode: ffmpeg's tee muxer writes each image to `<pattern>` (the image2
 * muxer, numbered from 0) and then a framecrc line for it to a pipe. The line comes after the file
 * is complete (the tee writes its outputs in order), so a line is an image ready to be used.
 */
export class SpoolQueue {
  private partial = '';
  private next = 0;
  private readonly images: SpooledJpeg[] = [];

  constructor(private readonly fileOf: (n: number) => string) {}

  push(b: Buffer): void {
    const text = this.partial + b.toString('latin1');
    const lines = text.split('\n');
    this.partial = lines.pop() as string;
    for (const line of lines) {
      if (line === '' || line.startsWith('#')) continue;
      // framecrc: stream, dts, pts, duration, size, checksum
      const bytes = Number(line.split(',')[4]);
      if (!Number.isInteger(bytes) || bytes <= 0) throw new Error(`ffmpeg's frame list is out of step: ${JSON.stringify(line.slice(0, 80))}`);
      this.images.push({ path: this.fileOf(this.next++), bytes });
    }
  }

  ready(): boolean {
    return this.images.length > 0;
  }

  take(): SpooledJpeg {
    const s = this.images.shift();
    if (!s) throw new Error('SpoolQueue: no image written yet');
    return s;
  }

  /** Characters of an unfinished line (at the end of the stream: ffmpeg stopped mid-write). */
  get leftover(): number {
    return this.partial.length;
  }
}
