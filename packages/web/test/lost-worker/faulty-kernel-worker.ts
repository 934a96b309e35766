// A kernel worker of the wasm thread pool (the page's, @msrnn/tensor's serveKernelWorker) with a
// fault planted for the lost-worker browser test: its `kernel` export fails on its `after`-th
// call, the way `how` says (all three from the worker script's URL query):
//   'throw':  the worker's own code throws in the middle of the job, outside any kernel (the
//             kernel returns, then the worker's next compare-and-swap throws): the worker dies with
//             its chunk half done. The browser says so only through the Worker's 'error' event,
//             which the caller, blocked in the job, cannot receive: the worker's lane must say it;
//   'freeze': the kernel never returns and says nothing (what a worker the browser killed looks like).
import { serveKernelWorker } from '@msrnn/tensor';

const query = new URLSearchParams(self.location.search);
const kernel = query.get('kernel') ?? '', how = query.get('how') ?? '';
let callsLeft = Number(query.get('after') ?? '1');

const Instance = WebAssembly.Instance;
(WebAssembly as { Instance: unknown }).Instance = function faulty(module: WebAssembly.Module, imports: WebAssembly.Imports) {
  const exports: Record<string, unknown> = { ...new Instance(module, imports).exports };
  const real = exports[kernel] as (...args: number[]) => unknown;
  exports[kernel] = (...args: number[]): unknown => {
    if (--callsLeft === 0) {
      if (how === 'freeze') for (;;);
      if (how === 'throw') {
        // The worker's next compare-and-swap (its chunk's Running → Committing) throws, once.
        const atomics = Atomics as { compareExchange: unknown }, cas = atomics.compareExchange;
        atomics.compareExchange = () => { atomics.compareExchange = cas; throw new Error('the worker failed in the middle of a job'); };
      }
    }
    return real(...args);
  };
  return { exports };
};

serveKernelWorker();
