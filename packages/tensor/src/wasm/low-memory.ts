// The bottom of every kernel memory. Address 0..63 is never allocated (so 0 is never a valid
// address); from 64 the kernel module keeps constant tables, which it writes there itself when it
// is instantiated (an active data segment: every instance, main thread or worker, writes the same
// bytes). The heap (./heap.ts) hands out nothing below RESERVED_LOW_BYTES.

/** Address of the Q5 5th-bit table (fiveBitWords). */
export const FIVE_BIT_WORDS_ADDR = 64;
const FIVE_BIT_WORDS_BYTES = 256 * 16;

/**
 * Q5_0's 5th bits as int16 words, 16 bytes for each value b of a qh byte: word i is 0 where bit i
 * of b is set and −16 where it is clear, so q − 16 = nibble + word. A kernel turns each qh byte into
 * eight words with one load instead of spreading, testing and widening bits in vector registers.
 */
export function fiveBitWords(): Uint8Array {
  const words = new Int16Array(FIVE_BIT_WORDS_BYTES / 2);
  for (let b = 0; b < 256; b++) for (let i = 0; i < 8; i++) words[8 * b + i] = (b >> i) & 1 ? 0 : -16;
  return new Uint8Array(words.buffer);
}

/** First byte the heap may hand out. */
export const RESERVED_LOW_BYTES = FIVE_BIT_WORDS_ADDR + FIVE_BIT_WORDS_BYTES;
