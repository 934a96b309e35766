// GGUF metadata: typed key/value pairs. Numeric arrays become typed arrays, strings JS strings;
// 64-bit integers stay bigint (a u64 can exceed 2^53) until an accessor converts them with a check.
import { Cursor } from './cursor.js';
import { ModelFileError } from '../file-errors.js';

/** GGUF metadata value types, numbered as in the file. */
export enum GgufValueType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}

export type GgufScalar = number | bigint | boolean | string;

export interface GgufArray {
  readonly elementType: GgufValueType;
  readonly values:
    | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array
    | BigUint64Array | BigInt64Array | boolean[] | string[] | GgufArray[];
}

export type GgufValue = GgufScalar | GgufArray;

export interface GgufEntry {
  readonly type: GgufValueType;
  readonly value: GgufValue;
  /** Byte offset of the value in the file (for error messages). */
  readonly offset: number;
}

const typeName = (t: number): string => GgufValueType[t] ?? `unknown type ${t}`;

/** Bytes of one element of a fixed-size type; strings and arrays take at least 8 (their length). */
const FIXED_BYTES: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1, [GgufValueType.INT8]: 1, [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT16]: 2, [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4, [GgufValueType.INT32]: 4, [GgufValueType.FLOAT32]: 4,
  [GgufValueType.UINT64]: 8, [GgufValueType.INT64]: 8, [GgufValueType.FLOAT64]: 8,
};
const minBytes = (t: GgufValueType): number => FIXED_BYTES[t] ?? (t === GgufValueType.ARRAY ? 12 : 8);

/** Deeper nesting than any real file uses; the limit keeps a hostile file from overflowing the stack. */
const MAX_ARRAY_DEPTH = 8;

export function readValueType(c: Cursor, field: string): GgufValueType {
  const start = c.at;
  const t = c.u32(`${field} type`);
  if (typeof GgufValueType[t] !== 'string') c.fail(`${field} type`, `unknown value type ${t} (GGUF knows 0–12)`, start);
  return t as GgufValueType;
}

export function readValue(c: Cursor, type: GgufValueType, field: string, depth = 0): GgufValue {
  switch (type) {
    case GgufValueType.UINT8: return c.u8(field);
    case GgufValueType.INT8: return c.i8(field);
    case GgufValueType.UINT16: return c.u16(field);
    case GgufValueType.INT16: return c.i16(field);
    case GgufValueType.UINT32: return c.u32(field);
    case GgufValueType.INT32: return c.i32(field);
    case GgufValueType.FLOAT32: return c.f32(field);
    case GgufValueType.FLOAT64: return c.f64(field);
    case GgufValueType.UINT64: return c.u64(field);
    case GgufValueType.INT64: return c.i64(field);
    case GgufValueType.BOOL: return readBool(c, field);
    case GgufValueType.STRING: return c.string(field);
    case GgufValueType.ARRAY: return readArray(c, field, depth);
  }
}

function readBool(c: Cursor, field: string): boolean {
  const start = c.at;
  const b = c.u8(field);
  if (b > 1) c.fail(field, `a bool must be 0 or 1, got ${b}`, start);
  return b === 1;
}

function readArray(c: Cursor, field: string, depth: number): GgufArray {
  if (depth >= MAX_ARRAY_DEPTH) c.fail(field, `arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
  const elementType = readValueType(c, `${field} element`);
  const n = c.count(`${field} count`, minBytes(elementType));
  const fixed = FIXED_BYTES[elementType];
  if (fixed !== undefined && elementType !== GgufValueType.BOOL) {
    // Metadata is not aligned in the file, so numeric arrays are copied out (their size is checked above).
    const start = c.need(n * fixed, field);
    // (A copy with set(): Node's Buffer.slice would share the file's memory, unaligned.)
    const raw = new Uint8Array(n * fixed);
    raw.set(c.bytes.subarray(start, start + n * fixed));
    return { elementType, values: numericArray(elementType, raw.buffer, n) };
  }
  const values: GgufValue[] = [];
  for (let i = 0; i < n; i++) values.push(readValue(c, elementType, `${field}[${i}]`, depth + 1));
  return { elementType, values: values as boolean[] | string[] | GgufArray[] };
}

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function numericArray(t: GgufValueType, buf: ArrayBuffer, n: number): GgufArray['values'] {
  if (!littleEndianHost) throw new Error('GGUF metadata arrays are little-endian; this host is big-endian');
  switch (t) {
    case GgufValueType.UINT8: return new Uint8Array(buf, 0, n);
    case GgufValueType.INT8: return new Int8Array(buf, 0, n);
    case GgufValueType.UINT16: return new Uint16Array(buf, 0, n);
    case GgufValueType.INT16: return new Int16Array(buf, 0, n);
    case GgufValueType.UINT32: return new Uint32Array(buf, 0, n);
    case GgufValueType.INT32: return new Int32Array(buf, 0, n);
    case GgufValueType.FLOAT32: return new Float32Array(buf, 0, n);
    case GgufValueType.FLOAT64: return new Float64Array(buf, 0, n);
    case GgufValueType.UINT64: return new BigUint64Array(buf, 0, n);
    case GgufValueType.INT64: return new BigInt64Array(buf, 0, n);
    default: throw new Error(`not a numeric type: ${typeName(t)}`);
  }
}

const INTEGER_TYPES = new Set([
  GgufValueType.UINT8, GgufValueType.INT8, GgufValueType.UINT16, GgufValueType.INT16,
  GgufValueType.UINT32, GgufValueType.INT32, GgufValueType.UINT64, GgufValueType.INT64,
]);
const NUMBER_TYPES = new Set([...INTEGER_TYPES, GgufValueType.FLOAT32, GgufValueType.FLOAT64]);

/**
 * The metadata of one file with typed accessors: a key of the wrong type (a u32 where a string
 * belongs, an array of floats where strings belong) is an error naming the key, its type and offset.
 */
export class GgufMetadata {
  constructor(readonly entries: ReadonlyMap<string, GgufEntry>, readonly source: string) {}

  has(key: string): boolean { return this.entries.has(key); }
  get(key: string): GgufEntry | undefined { return this.entries.get(key); }
  keys(): IterableIterator<string> { return this.entries.keys(); }

  private fail(key: string, e: GgufEntry | undefined, wanted: string): never {
    if (!e) throw new ModelFileError(`${this.source}: GGUF metadata has no ${key} (${wanted})`);
    throw new ModelFileError(`${this.source}: GGUF metadata ${key} (at byte ${e.offset}) should be ${wanted}, got ${describeType(e)}`);
  }

  /** Any numeric key as a JS number (a 64-bit integer must be below 2^53). */
  number(key: string): number;
  number(key: string, fallback: number): number;
  number(key: string, fallback?: number): number {
    const e = this.entries.get(key);
    if (!e && fallback !== undefined) return fallback;
    if (!e || !NUMBER_TYPES.has(e.type)) return this.fail(key, e, 'a number');
    return toNumber(e.value as number | bigint, () => this.fail(key, e, 'a number below 2^53'));
  }

  /** A non-negative integer key (any integer type). */
  integer(key: string): number;
  integer(key: string, fallback: number): number;
  integer(key: string, fallback?: number): number {
    const e = this.entries.get(key);
    if (!e && fallback !== undefined) return fallback;
    if (!e || !INTEGER_TYPES.has(e.type)) return this.fail(key, e, 'an integer');
    const v = toNumber(e.value as number | bigint, () => this.fail(key, e, 'an integer below 2^53'));
    if (v < 0) this.fail(key, e, `a non-negative integer (got ${v})`);
    return v;
  }

  string(key: string): string;
  string(key: string, fallback: string): string;
  string(key: string, fallback?: string): string {
    const e = this.entries.get(key);
    if (!e && fallback !== undefined) return fallback;
    if (!e || e.type !== GgufValueType.STRING) return this.fail(key, e, 'a string');
    return e.value as string;
  }

  bool(key: string): boolean;
  bool(key: string, fallback: boolean): boolean;
  bool(key: string, fallback?: boolean): boolean {
    const e = this.entries.get(key);
    if (!e && fallback !== undefined) return fallback;
    if (!e || e.type !== GgufValueType.BOOL) return this.fail(key, e, 'a bool');
    return e.value as boolean;
  }

  /** An array of strings (e.g. tokenizer.ggml.tokens, merges). */
  strings(key: string): string[] {
    const e = this.entries.get(key);
    const a = e?.type === GgufValueType.ARRAY ? (e.value as GgufArray) : undefined;
    if (!a || a.elementType !== GgufValueType.STRING) return this.fail(key, e, 'an array of strings');
    return a.values as string[];
  }

  /** An array of numbers of any numeric element type, as float64 (e.g. scores, token types). */
  numbers(key: string): Float64Array {
    const e = this.entries.get(key);
    const a = e?.type === GgufValueType.ARRAY ? (e.value as GgufArray) : undefined;
    if (!a || !NUMBER_TYPES.has(a.elementType)) return this.fail(key, e, 'an array of numbers');
    const out = new Float64Array(a.values.length);
    const vals = a.values as ArrayLike<number | bigint>;
    for (let i = 0; i < out.length; i++) out[i] = toNumber(vals[i]!, () => this.fail(key, e, 'an array of numbers below 2^53'));
    return out;
  }
}

function toNumber(v: number | bigint, tooBig: () => never): number {
  if (typeof v === 'number') return v;
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) tooBig();
  return Number(v);
}

/** e.g. "UINT32", "ARRAY of FLOAT32". */
export function describeType(e: { type: GgufValueType; value: GgufValue }): string {
  if (e.type !== GgufValueType.ARRAY) return typeName(e.type);
  return `ARRAY of ${typeName((e.value as GgufArray).elementType)}`;
}
