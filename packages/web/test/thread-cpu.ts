// CPU time of threads, from Linux's /proc (schedstat: nanoseconds on a CPU). On a loaded machine
// wall time mostly measures the scheduler; the CPU time of the thread doing the work does not.
import { readdirSync, readFileSync } from 'node:fs';

const readOr = (path: string) => { try { return readFileSync(path, 'utf8'); } catch { return null; } };

/** Nanoseconds thread `tid` of process `pid` has run. */
export function threadCpuNs(pid: number, tid = pid): number {
  const stat = readOr(`/proc/${pid}/task/${tid}/schedstat`);
  if (stat === null) throw new Error(`no /proc/${pid}/task/${tid}/schedstat: thread CPU time needs Linux`);
  return Number(stat.split(' ')[0]);
}

/** Processes descended from `root` (e.g. the browser this process launched and its renderers). */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = readOr(`/proc/${d}/stat`);
    // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
    if (stat) parentOf.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  const out: number[] = [];
  const walk = (pid: number) => { for (const [child, parent] of parentOf) if (parent === pid) { out.push(child); walk(child); } };
  walk(root);
  return out;
}

/**
 * Nanoseconds run so far by the Web Worker threads (Chromium names them "DedicatedWorker") of the
 * browsers this process launched. Throws when there is none.
 */
export function webWorkerCpuNs(): number {
  let total = 0, found = 0;
  for (const pid of descendants(process.pid)) {
    let tids: string[];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      if (readOr(`/proc/${pid}/task/${tid}/comm`)?.trim() !== 'DedicatedWorker') continue;
      total += threadCpuNs(pid, Number(tid));
      found++;
    }
  }
  if (found === 0) throw new Error('no DedicatedWorker thread among the browser processes this test launched');
  return total;
}
