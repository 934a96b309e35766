// A kernel worker of the wasm thread pool (the page's, @msrnn/tensor's serveKernelWorker) with a
// fault planted for the lost-worker browser test: its `kernel` export fails on its `after`-th
// call, the way `how` says (all three from the worker script's URL query):
//   'throw':  the worker's own code throws in the middle of the job, outside any kernel (the
//             kernel returns, then the worker's next compare-and-swap or add throws): the worker
//             dies with its chunk computed but neither committed nor counted, so the job cannot end
//             without it. The browser says so only through the Worker's 'error' event, which the
//             caller, blocked in the job, cannot receive: the worker's lane must say it;
//   'freeze': the kernel never returns and says nothing (what a worker the browser killed looks like).
import { serveKernelWorker } from '@msrnn/tensor';
import { plantKernelFault } from '../../../tensor/test/fixtures/plant-fault.js';

const query = new URLSearchParams(self.location.search);
plantKernelFault(query.get('kernel') ?? '', Number(query.get('after') ?? '1'), () => {
  const how = query.get('how');
  if (how === 'freeze') for (;;);
  if (how === 'throw') {
    // The worker's next compare-and-swap (a decode chunk's Running → Committing, a prompt job's
    // next claim) or add (a prompt job's completion count) throws, once.
    const atomics = Atomics as { compareExchange: unknown; add: unknown }, { compareExchange, add } = atomics;
    atomics.compareExchange = atomics.add = () => {
      atomics.compareExchange = compareExchange; atomics.add = add;
      throw new Error('the worker failed in the middle of a job');
    };
  }
});

serveKernelWorker();
