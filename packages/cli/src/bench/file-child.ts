// Entry of the process measureFileInChild starts: measures one model file, sends the result back.
import { measureFile, type FileMeasureOptions } from './file-measure.js';

const send = (m: unknown) => new Promise<void>((done) => process.send!(m, () => done()));
try {
  await send({ result: await measureFile(JSON.parse(process.argv[2]!) as FileMeasureOptions) });
} catch (err) {
  await send({ error: (err as Error).message });
}
process.disconnect();
