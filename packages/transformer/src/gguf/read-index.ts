// A GGUF header read from a byte source without reading the file: a prefix first, a longer one
// while the header runs past it (a vocabulary of 150k tokens is several MB of metadata), then the
// few bytes of the tensors whose values shape the config (rope_freqs).
import type { ByteSource } from '../byte-source.js';
import { readBytesStep, runReads, type Reads } from '../reads.js';
import { GgufError, PrefixTooShort } from './cursor.js';
import { ROPE_FREQS_TENSOR } from './llama.js';
import { parseGgufIndex, type GgufIndex, type GgufTensorEntry } from './parse.js';

/** First read of a header: most files' metadata fits (SmolLM2's, a 49k vocabulary, is ~2 MB: two reads). */
const FIRST_PREFIX_BYTES = 1 << 20;
/**
 * Longest header read: real metadata (a 256k vocabulary with its merges) is tens of MB, so a
 * header that needs more has a corrupt count or length, and is refused instead of read.
 */
export const MAX_GGUF_HEADER_BYTES = 256 << 20;
/** Most bytes of a config tensor read ahead (rope_freqs is one float per rotated pair). */
const CONFIG_TENSOR_BYTES = 1 << 16;

export interface GgufIndexRead {
  index: GgufIndex;
  /** The bytes of the config tensors (describeGgufLlama's tensorData). */
  tensorData: (t: GgufTensorEntry) => Uint8Array;
}

/** `firstRead`: bytes read first (tests make it small to take the longer-prefix path). */
export function readGgufIndex(file: ByteSource, firstRead = FIRST_PREFIX_BYTES): Promise<GgufIndexRead> {
  return runReads(ggufIndexReads(file, firstRead));
}

/**
 * readGgufIndex as a loader's reads (../reads.ts). A file in memory is parsed whole, and any of its
 * tensors' bytes are views of it.
 */
export function* ggufIndexReads(file: ByteSource, firstRead = FIRST_PREFIX_BYTES): Reads<GgufIndexRead> {
  let n = file.bytes ? file.size : Math.min(file.size, firstRead);
  let index: GgufIndex;
  for (;;) {
    try {
      index = parseGgufIndex(yield* readBytesStep(file, 0, n, 'the GGUF header'), file.size, file.name);
      break;
    } catch (err) {
      if (!(err instanceof PrefixTooShort)) throw err;
      if (err.needed > MAX_GGUF_HEADER_BYTES) {
        throw new GgufError(file.name, 'header', 0, `the metadata and tensor infos run past ${MAX_GGUF_HEADER_BYTES >> 20} MiB (to byte ${err.needed}): a corrupt count or length`);
      }
      n = Math.min(file.size, MAX_GGUF_HEADER_BYTES, Math.max(4 * n, err.needed));
    }
  }
  const read = new Map<GgufTensorEntry, Uint8Array>();
  const freqs = index.tensorsByName.get(ROPE_FREQS_TENSOR);
  if (freqs && freqs.byteLength <= CONFIG_TENSOR_BYTES) read.set(freqs, yield* readBytesStep(file, freqs.fileOffset, freqs.byteLength, `tensor ${freqs.name}`));
  const tensorData = (t: GgufTensorEntry): Uint8Array => {
    if (file.bytes) return file.bytes.subarray(t.fileOffset, t.fileOffset + t.byteLength);
    const bytes = read.get(t);
    if (!bytes) throw new Error(`${file.name}: tensor ${t.name} (${t.byteLength} bytes) was not read ahead`);
    return bytes;
  };
  return { index, tensorData };
}
