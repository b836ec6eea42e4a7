/** Fixed-size frame buffers read from ffmpeg's pipes: a small free list and a chunk assembler. */

/** Free list of equal-size frame buffers. */
export class BufferPool {
  private readonly free: Buffer[] = [];
  constructor(private readonly size: number) {}
  acquire(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }
  release(b: Buffer): void {
    // A few spare buffers are enough: the reservoir's decimation frees them in pairs.
    if (b.length === this.size && this.free.length < 4) this.free.push(b);
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
