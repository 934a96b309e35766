// `msrnn bench --compete`: a competing busy process for the whole measurement, so a run shows what
// threads give when the machine's other core is taken (what a user's browser, build or second job
// does): a second thread must then never make decoding slower than one.
import { spawn } from 'node:child_process';

/** Runs `measure` while a child process spins one core (a plain JS loop: no memory traffic); stops it after. */
export async function withCompetitor(compete: boolean, note: (line: string) => void, measure: () => Promise<void>): Promise<void> {
  if (!compete) { await measure(); return; }
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  child.on('error', (err) => note(`the competing process failed: ${err.message}`));
  note(`a competing busy process (pid ${child.pid}) runs for the whole measurement`);
  try {
    await measure();
  } finally {
    child.kill();
  }
}
