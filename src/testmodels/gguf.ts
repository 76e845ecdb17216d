/**
 * Minimal GGUF v3 reader and streaming writer.
 *
 * Reader: header, all KV metadata (scalars and arrays of scalars/strings) and tensor infos.
 * Writer: KVs of every scalar type and arrays of them, tensor infos and tensor data of
 * types F32, F16 and Q8_0, streamed to disk chunk by chunk.
 *
 * Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 * Shapes are in ggml "ne" order (fastest-varying dimension first), i.e. the reverse of numpy.
 */
import { open } from "node:fs/promises";

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value types (numeric ids as in the spec). */
export const GgufType = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;
export type GgufTypeName = keyof typeof GgufType;
export type GgufScalarTypeName = Exclude<GgufTypeName, "array">;

type NumberTypeName = "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "float64";
type BigIntTypeName = "uint64" | "int64";

export type GgufValue =
  | { type: NumberTypeName; value: number }
  | { type: BigIntTypeName; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: NumberTypeName; value: number[] }
  | { type: "array"; itemType: BigIntTypeName; value: bigint[] }
  | { type: "array"; itemType: "bool"; value: boolean[] }
  | { type: "array"; itemType: "string"; value: string[] };

export type GgufKV = { key: string } & GgufValue;

/** ggml tensor types supported by the writer (ids from ggml.h). */
export const GgmlType = { F32: 0, F16: 1, Q8_0: 8 } as const;
export type GgmlTypeName = keyof typeof GgmlType;

export const Q8_0_BLOCK = 32; // elements per block
export const Q8_0_BLOCK_BYTES = 34; // f16 scale + 32 x int8

export interface GgufTensorInfo {
  name: string;
  /** ne order: shape[0] is the contiguous (row) dimension */
  shape: number[];
  /** raw ggml type id */
  type: number;
  /** offset relative to the start of the data section */
  offset: bigint;
}

export interface GgufFile {
  version: number;
  kvs: GgufKV[];
  tensors: GgufTensorInfo[];
  alignment: number;
  /** absolute file offset of the tensor data section */
  dataOffset: number;
}

const typeNameById: Record<number, GgufTypeName> = Object.fromEntries(Object.entries(GgufType).map(([name, id]) => [id, name as GgufTypeName]));

// ---------------------------------------------------------------------------------------------
// Reader

class Cursor {
  pos = 0;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });
  constructor(private readonly buf: Buffer) {}
  u8() {
    const v = this.buf.readUInt8(this.pos);
    this.pos += 1;
    return v;
  }
  i8() {
    const v = this.buf.readInt8(this.pos);
    this.pos += 1;
    return v;
  }
  u16() {
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  i16() {
    const v = this.buf.readInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32() {
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i32() {
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  f32() {
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }
  f64() {
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  u64() {
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  i64() {
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  len() {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`GGUF: length too large at ${this.pos - 8}`);
    return Number(v);
  }
  str() {
    const n = this.len();
    const s = this.decoder.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  scalar(t: GgufScalarTypeName): number | bigint | boolean | string {
    switch (t) {
      case "uint8":
        return this.u8();
      case "int8":
        return this.i8();
      case "uint16":
        return this.u16();
      case "int16":
        return this.i16();
      case "uint32":
        return this.u32();
      case "int32":
        return this.i32();
      case "float32":
        return this.f32();
      case "float64":
        return this.f64();
      case "uint64":
        return this.u64();
      case "int64":
        return this.i64();
      case "bool":
        return this.u8() !== 0;
      case "string":
        return this.str();
    }
  }
}

function typeName(id: number, where: string): GgufTypeName {
  const name = typeNameById[id];
  if (name === undefined) throw new Error(`GGUF: unknown value type ${id} (${where})`);
  return name;
}

/** Parse the header (metadata + tensor infos) of a GGUF file held in memory. */
export function parseGguf(buf: Buffer): GgufFile {
  const c = new Cursor(buf);
  if (c.u32() !== GGUF_MAGIC) throw new Error("GGUF: bad magic");
  const version = c.u32();
  if (version !== 2 && version !== 3) throw new Error(`GGUF: unsupported version ${version}`);
  const tensorCount = c.len();
  const kvCount = c.len();

  const kvs: GgufKV[] = [];
  for (let i = 0; i < kvCount; i++) {
    const key = c.str();
    const t = typeName(c.u32(), key);
    if (t === "array") {
      const itemType = typeName(c.u32(), key);
      if (itemType === "array") throw new Error(`GGUF: nested arrays are not supported (${key})`);
      const n = c.len();
      const value: unknown[] = new Array(n);
      for (let j = 0; j < n; j++) value[j] = c.scalar(itemType);
      kvs.push({ key, type: "array", itemType, value } as GgufKV);
    } else {
      kvs.push({ key, type: t, value: c.scalar(t) } as GgufKV);
    }
  }

  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = c.str();
    const nDims = c.u32();
    const shape: number[] = [];
    for (let d = 0; d < nDims; d++) shape.push(Number(c.u64()));
    const type = c.u32();
    const offset = c.u64();
    tensors.push({ name, shape, type, offset });
  }

  const alignKv = kvs.find((kv) => kv.key === "general.alignment");
  const alignment = alignKv && alignKv.type === "uint32" ? alignKv.value : GGUF_DEFAULT_ALIGNMENT;
  const dataOffset = alignUp(c.pos, alignment);
  return { version, kvs, tensors, alignment, dataOffset };
}

/** Read a GGUF file's header. Reads the whole file; meant for small (vocab-only) files. */
export async function readGguf(path: string): Promise<GgufFile> {
  const fh = await open(path, "r");
  try {
    return parseGguf(await fh.readFile());
  } finally {
    await fh.close();
  }
}

/** Look up a KV by key. */
export function getKv(file: { kvs: GgufKV[] }, key: string): GgufKV | undefined {
  return file.kvs.find((kv) => kv.key === key);
}

// ---------------------------------------------------------------------------------------------
// Writer

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** A tensor to write. `data` yields its bytes (in any chunking), exactly tensorByteSize() in total. */
export interface GgufTensorSpec {
  name: string;
  /** ne order */
  shape: number[];
  type: GgmlTypeName;
  data: () => Iterable<Uint8Array>;
}

export function tensorByteSize(type: GgmlTypeName, shape: readonly number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  switch (type) {
    case "F32":
      return n * 4;
    case "F16":
      return n * 2;
    case "Q8_0": {
      const row = shape[0] ?? 1;
      if (row % Q8_0_BLOCK !== 0) throw new Error(`Q8_0 needs ne[0] % 32 == 0 (got ${row})`);
      return (n / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
    }
  }
}

/** Growable little-endian byte builder for the header. */
class ByteBuilder {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private ensure(extra: number) {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number) {
    this.ensure(1);
    this.length = this.buf.writeUInt8(v, this.length);
  }
  i8(v: number) {
    this.ensure(1);
    this.length = this.buf.writeInt8(v, this.length);
  }
  u16(v: number) {
    this.ensure(2);
    this.length = this.buf.writeUInt16LE(v, this.length);
  }
  i16(v: number) {
    this.ensure(2);
    this.length = this.buf.writeInt16LE(v, this.length);
  }
  u32(v: number) {
    this.ensure(4);
    this.length = this.buf.writeUInt32LE(v, this.length);
  }
  i32(v: number) {
    this.ensure(4);
    this.length = this.buf.writeInt32LE(v, this.length);
  }
  f32(v: number) {
    this.ensure(4);
    this.length = this.buf.writeFloatLE(v, this.length);
  }
  f64(v: number) {
    this.ensure(8);
    this.length = this.buf.writeDoubleLE(v, this.length);
  }
  u64(v: bigint | number) {
    this.ensure(8);
    this.length = this.buf.writeBigUInt64LE(BigInt(v), this.length);
  }
  i64(v: bigint) {
    this.ensure(8);
    this.length = this.buf.writeBigInt64LE(v, this.length);
  }
  str(s: string) {
    const n = Buffer.byteLength(s, "utf8");
    this.u64(n);
    this.ensure(n);
    this.length += this.buf.write(s, this.length, "utf8");
  }
  zeros(n: number) {
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  scalar(t: GgufScalarTypeName, v: number | bigint | boolean | string) {
    switch (t) {
      case "uint8":
        return this.u8(v as number);
      case "int8":
        return this.i8(v as number);
      case "uint16":
        return this.u16(v as number);
      case "int16":
        return this.i16(v as number);
      case "uint32":
        return this.u32(v as number);
      case "int32":
        return this.i32(v as number);
      case "float32":
        return this.f32(v as number);
      case "float64":
        return this.f64(v as number);
      case "uint64":
        return this.u64(v as bigint);
      case "int64":
        return this.i64(v as bigint);
      case "bool":
        return this.u8(v ? 1 : 0);
      case "string":
        return this.str(v as string);
    }
  }
  bytes() {
    return this.buf.subarray(0, this.length);
  }
}

/** Serialize one KV exactly as it appears in a GGUF header. */
export function encodeKv(kv: GgufKV): Buffer {
  const b = new ByteBuilder();
  writeKv(b, kv);
  return Buffer.from(b.bytes());
}

function writeKv(b: ByteBuilder, kv: GgufKV) {
  b.str(kv.key);
  b.u32(GgufType[kv.type]);
  if (kv.type === "array") {
    b.u32(GgufType[kv.itemType]);
    b.u64(kv.value.length);
    for (const v of kv.value) b.scalar(kv.itemType, v);
  } else {
    b.scalar(kv.type, kv.value);
  }
}

export interface WriteGgufOptions {
  kvs: GgufKV[];
  tensors: GgufTensorSpec[];
  /** Defaults to 32. A general.alignment KV is added when not present in kvs. */
  alignment?: number;
}

/**
 * Stream a GGUF v3 file to `path` (overwriting). Tensor data is pulled from each
 * spec's generator and written in chunks of a few MB, so large models are never held in memory.
 */
export async function writeGguf(path: string, opts: WriteGgufOptions): Promise<void> {
  const alignment = opts.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const kvs = opts.kvs.some((kv) => kv.key === "general.alignment")
    ? opts.kvs
    : [...opts.kvs, { key: "general.alignment", type: "uint32", value: alignment } as GgufKV];
  const seen = new Set<string>();
  for (const kv of kvs) {
    if (seen.has(kv.key)) throw new Error(`GGUF: duplicate key ${kv.key}`);
    seen.add(kv.key);
  }

  const h = new ByteBuilder();
  h.u32(GGUF_MAGIC);
  h.u32(GGUF_VERSION);
  h.u64(opts.tensors.length);
  h.u64(kvs.length);
  for (const kv of kvs) writeKv(h, kv);

  const sizes = opts.tensors.map((t) => tensorByteSize(t.type, t.shape));
  let offset = 0;
  opts.tensors.forEach((t, i) => {
    h.str(t.name);
    h.u32(t.shape.length);
    for (const d of t.shape) h.u64(d);
    h.u32(GgmlType[t.type]);
    h.u64(offset);
    offset = alignUp(offset + sizes[i]!, alignment);
  });
  h.zeros(alignUp(h.length, alignment) - h.length);

  const fh = await open(path, "w");
  try {
    const CHUNK = 4 << 20;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let filePos = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      let written = 0;
      while (written < buf.length) {
        const { bytesWritten } = await fh.write(buf, written, buf.length - written, filePos + written);
        written += bytesWritten;
      }
      filePos += buf.length;
      pending = [];
      pendingBytes = 0;
    };
    const push = async (chunk: Uint8Array) => {
      // copy: generators may reuse their buffers between yields
      pending.push(Buffer.from(chunk));
      pendingBytes += chunk.length;
      if (pendingBytes >= CHUNK) await flush();
    };

    await push(h.bytes());
    for (let i = 0; i < opts.tensors.length; i++) {
      const t = opts.tensors[i]!;
      let n = 0;
      for (const chunk of t.data()) {
        n += chunk.length;
        await push(chunk);
      }
      if (n !== sizes[i]) throw new Error(`GGUF: tensor ${t.name} produced ${n} bytes, expected ${sizes[i]}`);
      const pad = alignUp(n, alignment) - n;
      if (pad > 0) await push(new Uint8Array(pad));
    }
    await flush();
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Number encoding helpers

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE 754 binary16 bits of a number (round to nearest even, via float32 like ggml). */
export function toF16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000; // implicit leading 1
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && m & 1)) m++;
    return sign | m; // may carry into the exponent field, which is still correct
  }
  let m = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** Decode binary16 bits to a number. */
export function fromF16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}
