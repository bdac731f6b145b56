// Defensive parsing: every malformed input is a clear error naming the file and the problem.
import { describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors, type TensorMap } from './index.js';

function withHeader(header: unknown, dataBytes = 0, rawHeader?: string): Uint8Array {
  const json = Buffer.from(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors', () => {
  const tensors: TensorMap = new Map([
    ['b', { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] }],
    ['a', { data: new Float32Array([-0, Infinity, NaN]), shape: [3] }],
  ]);

  it('round-trips float32 exactly, data 8-byte aligned, names sorted', () => {
    const bytes = serializeSafetensors(tensors, { format: 'pt' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const { tensors: back, metadata } = parseSafetensors(bytes, 'x.safetensors');
    expect(metadata).toEqual({ format: 'pt' });
    expect([...back.keys()]).toEqual(['a', 'b']);
    expect(Array.from(back.get('b')!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Object.is(back.get('a')!.data[0], -0)).toBe(true);
    expect(back.get('a')!.data[2]).toBeNaN();
  });

  it('widens F16 and BF16 by hand-computed values', () => {
    const data = new Uint8Array(8);
    const v = new DataView(data.buffer);
    v.setUint16(0, 0x3c00, true); // F16 1.0
    v.setUint16(2, 0xc000, true); // F16 -2.0
    v.setUint16(4, 0x3f80, true); // BF16 1.0
    v.setUint16(6, 0x4049, true); // BF16 3.140625
    const header = {
      h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] },
    };
    const bytes = withHeader(header, 8);
    bytes.set(data, bytes.length - 8);
    const { tensors: t } = parseSafetensors(bytes);
    expect(Array.from(t.get('h')!.data)).toEqual([1, -2]);
    expect(Array.from(t.get('b')!.data)).toEqual([1, 3.140625]);
  });

  it.each([
    ['a file shorter than 8 bytes', new Uint8Array(3), /shorter than the 8-byte header length/],
    [
      'a header longer than the file',
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 2n ** 60n, true);
        return b;
      })(),
      /header claims/,
    ],
    ['a non-JSON header', withHeader(null, 0, '{not json'), /not UTF-8 JSON/],
    ['a JSON array header', withHeader([1, 2]), /not a JSON object/],
    [
      'an unsupported dtype',
      withHeader({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8),
      /tensor 'x': unsupported dtype "I64"/,
    ],
    [
      'a negative shape',
      withHeader({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4),
      /tensor 'x': shape/,
    ],
    [
      'offsets past the end',
      withHeader({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8),
      /outside the 8 data bytes/,
    ],
    [
      'a shape/offset size mismatch',
      withHeader({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8),
      /needs 12 bytes, offsets give 8/,
    ],
    [
      'overlapping tensors',
      withHeader(
        {
          x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        12,
      ),
      /overlap/,
    ],
  ])('rejects %s', (_name, bytes, message) => {
    expect(() => parseSafetensors(bytes, 'bad.safetensors')).toThrow(message);
    expect(() => parseSafetensors(bytes, 'bad.safetensors')).toThrow(/^bad\.safetensors: /);
  });

  it('never throws anything but a clear error on random mutations of a valid file', () => {
    const good = serializeSafetensors(tensors);
    let state = 12345;
    const rand = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let trial = 0; trial < 500; trial++) {
      const bytes = good.slice(0, rand() < 0.2 ? Math.floor(rand() * good.length) : good.length);
      for (let m = 0; m < 3; m++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      try {
        parseSafetensors(bytes, 'fuzz.safetensors');
      } catch (error) {
        expect((error as Error).message).toMatch(/^fuzz\.safetensors: /);
      }
    }
  });
});
