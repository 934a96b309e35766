// A model too big for the memory its backend keeps weights in is refused before anything is
// allocated, naming both sizes, instead of failing half-way through the load: the wasm heap holds
// at most 4 GiB (the wasm32 limit; a browser's non-shared heap only its fixed size), and the js
// backend, which keeps weights in plain arrays, is held to the same 4 GiB so that a corrupt or
// misnamed header never makes it allocate tens of gigabytes.
import type { Backend, WasmBackend } from '@msrnn/tensor';

/** Most bytes of weights the js backend is asked to hold (the wasm32 heap's limit). */
export const JS_WEIGHT_BYTES = 2 ** 32;

const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

/** Throws unless `bytes` of weights fit in `backend`'s memory. */
export function checkRoom(backend: Backend, bytes: number, source: string): void {
  const heap = (backend as Partial<WasmBackend>).heap;
  if (!heap) {
    if (bytes > JS_WEIGHT_BYTES) throw new RangeError(`${source}: the model's weights need ${mib(bytes)}, more than the ${mib(JS_WEIGHT_BYTES)} the js backend holds; use a smaller weight type (a quantized file)`);
    return;
  }
  if (bytes <= heap.roomBytes) return;
  throw new RangeError(`${source}: the model's weights need ${mib(bytes)} but the wasm backend's memory has room for ${mib(heap.roomBytes)} ` +
    `(it grows to at most ${mib(heap.maximumPages * 65536)}; wasm32 addresses 4 GiB at most): use a smaller weight type (a quantized file)`);
}
