/** Splitting ffmpeg's concatenated JPEG stream (image2pipe, `--mode all` JPEG) into images (JpegQueue). */
import { JpegQueue } from '../../src/engine/frame-buffers.js';

/** A minimal JPEG-shaped byte string: SOI, a DQT holding FF D9, SOS, entropy data with stuffed and restart bytes, EOI. */
function fakeJpeg(fill: number, scanBytes: number): Buffer {
  const dqt = Buffer.from([0xff, 0xdb, 0x00, 0x07, 0x00, 0xff, 0xd9, 0x01, 0x02]);
  const sos = Buffer.from([0xff, 0xda, 0x00, 0x04, 0x01, 0x00]);
  const scan = Buffer.alloc(scanBytes, fill);
  // Stuffed FF 00 and a restart marker FF D3 inside the entropy-coded data are not the end.
  scan[3] = 0xff; scan[4] = 0x00;
  scan[10] = 0xff; scan[11] = 0xd3;
  return Buffer.concat([Buffer.from([0xff, 0xd8]), dqt, sos, scan, Buffer.from([0xff, 0xd9])]);
}

describe('JpegQueue', () => {
  const images = [fakeJpeg(0x11, 40), fakeJpeg(0x22, 300_000), fakeJpeg(0x33, 17)];
  const stream = Buffer.concat(images);

  it.each([1, 2, 7, 4096, 65536, stream.length])('splits the stream into its images whatever the chunk size (%i bytes)', (size) => {
    const q = new JpegQueue();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += size) {
      q.push(stream.subarray(i, i + size));
      while (q.ready()) out.push(q.take());
    }
    expect(out).toHaveLength(3);
    out.forEach((b, k) => expect(b.equals(images[k] as Buffer)).toBe(true));
    expect(q.leftover).toBe(0);
  });

  it('keeps an incomplete image back and reports it as leftover', () => {
    const q = new JpegQueue();
    q.push(stream.subarray(0, (images[0] as Buffer).length + 100));
    expect(q.take().equals(images[0] as Buffer)).toBe(true);
    expect(q.ready()).toBe(false);
    expect(q.leftover).toBe(100);
  });

  it('a stream that does not start with an image is an error that says so', () => {
    const q = new JpegQueue();
    expect(() => q.push(Buffer.from('not a jpeg at all'))).toThrow(/out of step: expected an image start/);
  });
});
