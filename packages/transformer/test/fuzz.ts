// What the loader fuzz suites share (fast-check, fixed seeds): arbitraries for byte edits,
// absurd numbers and hostile JSON values, and the one outcome check: a call either returns or
// throws one of the library's own error classes, within a time limit.
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { jsBackend, type Backend } from '@msrnn/tensor';
import type { ByteSource } from '../src/byte-source.js';
import { createState, modelFromBytes, modelFromSource, type Model } from '../src/model.js';
import { step } from '../src/step.js';

/** Up to `maxEdits` (offset, byte) overwrites inside [0, length). */
export const byteEdits = (length: number, maxEdits: number) =>
  fc.array(fc.tuple(fc.nat(length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: maxEdits });

/** A copy of `file` with `edits` applied (edits past its end are dropped). */
export function applyEdits(file: Uint8Array, edits: readonly (readonly [number, number])[]): Uint8Array {
  const f = file.slice();
  for (const [at, b] of edits) if (at < f.length) f[at] = b;
  return f;
}

/** Unsigned 64-bit values a length, count or offset field must not be trusted with. */
export const absurdU64 = fc.oneof(
  fc.constantFrom(0n, 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 40n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.bigInt({ min: 0n, max: 4096n }),
);

/** Signed 32-bit header values: zero, negatives, the extremes, and plausible small ones. */
export const absurdI32 = fc.oneof(
  fc.constantFrom(0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 16, 2 ** 20, 2 ** 24),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.integer({ min: 0, max: 600 }),
);

/** JSON values a header field must not be trusted with (wrong types, huge, negative, fractional). */
export const hostileJson = fc.oneof(
  fc.constantFrom(-1, 1.5, 2 ** 53, 2 ** 64, 1e308, NaN, null, 'F32', 'x', true, [], {}, [0], [0, 0, 0], [-4, 4], [4, 0]),
  fc.array(fc.oneof(fc.nat(64), fc.constant(2 ** 40), fc.constant(-1)), { maxLength: 4 }),
  fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I8', 'f32', ''),
  fc.nat(100),
);

type ErrorClass = abstract new (...args: never[]) => Error;

export interface OwnErrorOptions {
  /** Longest a case may run (ms). Default 1000. */
  limitMs?: number;
  /** Further checks on an allowed error (e.g. the byte offset it names). */
  onError?: (err: Error) => void;
}

/**
 * Runs `fn` on fuzzed input: returns its result, or undefined when it threw one of `allowed`
 * (anything else, e.g. a TypeError or RangeError from deep inside, fails with its stack), and
 * fails when it ran longer than `limitMs` (no hang, no runaway loop).
 */
export function expectOwnError<T>(fn: () => T, allowed: readonly ErrorClass[], opts: OwnErrorOptions = {}): T | undefined {
  const limitMs = opts.limitMs ?? 1000;
  const start = performance.now();
  try {
    return fn();
  } catch (err) {
    if (!allowed.some((E) => err instanceof E)) {
      throw new Error(`threw ${(err as Error)?.name ?? typeof err}, not one of ${allowed.map((E) => E.name).join(', ')}: ${(err as Error)?.stack ?? err}`);
    }
    opts.onError?.(err as Error);
    return undefined;
  } finally {
    const ms = performance.now() - start;
    assert.ok(ms < limitMs, `one case took ${ms.toFixed(0)} ms (limit ${limitMs})`);
  }
}

/**
 * `bytes` as a source that only reads (no view of the bytes, no sync reads), as a file or a
 * browser File is: loaders then take the streaming path. Every read must lie inside the file.
 */
export function streamedSource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name, size: bytes.length,
    read: async (offset, into) => {
      assert.ok(offset >= 0 && offset + into.length <= bytes.length, `read [${offset}, ${offset + into.length}) of a ${bytes.length}-byte file`);
      into.set(bytes.subarray(offset, offset + into.length));
    },
  };
}

/**
 * Loads `bytes` from memory (modelFromBytes) and streamed (modelFromSource): both fail with the
 * same message, or both load the same model (same format and first-step logits).
 */
export async function sameStreamedOutcome(bytes: Uint8Array, name: string, backend: Backend = jsBackend): Promise<void> {
  let whole: Model | Error, streamed: Model | Error;
  try { whole = modelFromBytes(bytes, { source: name, backend }); } catch (e) { whole = e as Error; }
  try { streamed = await modelFromSource(streamedSource(bytes, name), { backend }); } catch (e) { streamed = e as Error; }
  try {
    if (whole instanceof Error || streamed instanceof Error) {
      assert.is(streamed instanceof Error ? streamed.message : 'loaded', whole instanceof Error ? whole.message : 'loaded');
      return;
    }
    assert.is(streamed.format, whole.format);
    const logits = (m: Model) => { const s = createState(m); const out = Float32Array.from(step(m, s, 1)); s.dispose(); return out; };
    assert.equal(logits(streamed), logits(whole));
  } finally {
    for (const m of [whole, streamed]) if (!(m instanceof Error)) m.dispose();
  }
}
