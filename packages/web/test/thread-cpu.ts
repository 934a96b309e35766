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
 * Nanoseconds run so far by the threads of the browsers this process launched: `workers`, the Web
 * Worker threads (Chromium names them "DedicatedWorker": the decoding worker and its kernel
 * workers), and `others`, every other thread of every browser process (main threads drawing the
 * page, compositor, Viz, thread pools). Throws when there is no worker.
 */
export function browserCpuNs(): { workers: number; others: number } {
  let workers = 0, others = 0, found = 0;
  for (const pid of descendants(process.pid)) {
    // Browser processes only (not esbuild's service, not Node's decoder beside them).
    if (!/^chrom/.test(readOr(`/proc/${pid}/comm`) ?? '')) continue;
    let tids: string[];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      const comm = readOr(`/proc/${pid}/task/${tid}/comm`)?.trim();
      if (comm === undefined) continue; // the thread ended meanwhile
      let ns: number;
      try { ns = threadCpuNs(pid, Number(tid)); } catch { continue; }
      if (comm === 'DedicatedWorker') { workers += ns; found++; } else others += ns;
    }
  }
  if (found === 0) throw new Error('no DedicatedWorker thread among the browser processes this test launched');
  return { workers, others };
}
