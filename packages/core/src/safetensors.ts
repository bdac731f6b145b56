// The safetensors format: u64 little-endian header length N, N bytes of JSON header, then raw data.
// https://huggingface.co/docs/safetensors — the header maps tensor names to {dtype, shape, data_offsets}.
// The parser checks everything a crafted or truncated file could lie about before touching the data.
import { readInput, writeFileAtomic } from './files.js';

export interface NamedArray {
  /** Row-major values (float32 in this project; F16/BF16 files are widened on read). */
  data: Float32Array;
  shape: number[];
}

export type TensorMap = Map<string, NamedArray>;

/** A header this large is not a model file (the format itself caps it at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;
const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

export class SafetensorsError extends Error {
  constructor(file: string, problem: string, cause?: unknown) {
    super(`${file}: not a valid safetensors file: ${problem}`, { cause });
    this.name = 'SafetensorsError';
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Parse safetensors bytes; `file` names the source in errors. */
export function parseSafetensors(
  bytes: Uint8Array,
  file = 'safetensors',
): { tensors: TensorMap; metadata: Record<string, string> } {
  const fail = (problem: string): never => {
    throw new SafetensorsError(file, problem);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    fail(`header claims ${headerLength} bytes but the file has ${bytes.length - 8} after the length field`);
  }
  const n = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (error) {
    throw new SafetensorsError(file, `header is not UTF-8 JSON (${(error as Error).message})`, error);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const tensors: TensorMap = new Map();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`tensor '${name}': entry is not an object`);
    const dtype = e.dtype;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES))
      fail(`tensor '${name}': unsupported dtype ${JSON.stringify(dtype)} (expected F32, F16, BF16 or F64)`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(`tensor '${name}': shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor '${name}': data_offsets ${JSON.stringify(offsets)} is not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const width = DTYPE_BYTES[dtype as string]!;
    if (end < begin || end > dataLength)
      fail(`tensor '${name}': data_offsets [${begin}, ${end}] lie outside the ${dataLength} data bytes`);
    if (end - begin !== elements * width)
      fail(
        `tensor '${name}': shape [${shape}] of ${dtype} needs ${elements * width} bytes, offsets give ${end - begin}`,
      );
    spans.push([begin, end, name]);
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    const rawView = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const data = new Float32Array(elements);
    for (let i = 0; i < elements; i++) {
      if (dtype === 'F32') data[i] = rawView.getFloat32(i * 4, true);
      else if (dtype === 'F64') data[i] = rawView.getFloat64(i * 8, true);
      else if (dtype === 'F16') data[i] = halfToFloat(rawView.getUint16(i * 2, true));
      else data[i] = new Float32Array(new Uint32Array([rawView.getUint16(i * 2, true) << 16]).buffer)[0]!;
    }
    tensors.set(name, { data, shape: shape as number[] });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) fail(`tensors '${spans[i - 1]![2]}' and '${spans[i]![2]}' overlap`);
  }
  return { tensors, metadata };
}

export async function readSafetensors(path: string): Promise<{ tensors: TensorMap; metadata: Record<string, string> }> {
  return parseSafetensors(await readInput(path), path);
}

/** Serialise float32 tensors (sorted by name, as the reference implementation writes them). */
export function serializeSafetensors(tensors: TensorMap, metadata: Record<string, string> = {}): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== expected) throw new Error(`tensor '${name}': ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.length * 4] };
    offset += t.data.length * 4;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

export async function writeSafetensors(
  path: string,
  tensors: TensorMap,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
