// The bottom of the kernel memory: the heap never hands out the addresses the kernel module's own
// tables occupy, the module writes its Q5 5th-bit table there when it is instantiated (workers
// too), and the table holds what its definition says, read back bit by bit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WasmHeap } from '../src/wasm/heap.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import { FIVE_BIT_WORDS_ADDR, RESERVED_LOW_BYTES } from '../src/wasm/low-memory.js';

test('the heap allocates nothing below the reserved low bytes, however it is asked', () => {
  const h = new WasmHeap({ initialBytes: 1 << 20, shared: false });
  const first = [h.u8(1), h.f32(100), h.i16(7)];
  const aligned = h.allocBytes(256, 64);
  for (const v of first) assert.ok(v.byteOffset >= RESERVED_LOW_BYTES, `allocation at ${v.byteOffset}`);
  assert.ok(aligned >= RESERVED_LOW_BYTES);
  h.free(first[0]!);
  assert.ok(h.u8(1).byteOffset >= RESERVED_LOW_BYTES, 'a reused range too');
});

test('the kernel module writes the 5th-bit table at instantiation: word i of entry b is 0 where bit i of b is set, else −16', async () => {
  for (const threads of [1, 2]) {
    const b = await createWasmBackend({ threads, initialBytes: 16 << 20 });
    try {
      const words = new Int16Array(b.heap.buffer, FIVE_BIT_WORDS_ADDR, 256 * 8);
      for (let byte = 0; byte < 256; byte++) {
        for (let i = 0; i < 8; i++) assert.is(words[8 * byte + i], byte & (1 << i) ? 0 : -16, `entry ${byte} word ${i} (${threads} thread(s))`);
      }
      assert.ok(RESERVED_LOW_BYTES >= FIVE_BIT_WORDS_ADDR + words.byteLength, 'the table lies inside the reserved bytes');
    } finally {
      await b.dispose();
    }
  }
});

test.run();
