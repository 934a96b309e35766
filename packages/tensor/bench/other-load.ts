// How much CPU other processes used while a measurement ran (Linux: /proc/stat's busy time minus
// this process's own, /proc/self/stat), in cores: on a machine shared with others a two-thread
// round is only a quiet-machine figure when this stays near 0. Elsewhere it reports null.
import { existsSync, readFileSync } from 'node:fs';

const TICK_S = 0.01; // USER_HZ = 100 on Linux

function busyTicks(): { machine: number; self: number } | null {
  if (!existsSync('/proc/stat')) return null;
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  const machine = cpu.slice(0, 8).reduce((a, b) => a + b, 0) - cpu[3]! - cpu[4]!;
  const stat = readFileSync('/proc/self/stat', 'utf8'), fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { machine, self: Number(fields[11]) + Number(fields[12]) };
}

/** Starts a window; calling the result gives the other processes' average use of the CPUs (cores) since, or null off Linux. */
export function otherLoad(): () => number | null {
  const t0 = performance.now(), before = busyTicks();
  return () => {
    const after = busyTicks(), s = (performance.now() - t0) / 1000;
    if (!before || !after || s <= 0) return null;
    return Math.max(0, (after.machine - before.machine - (after.self - before.self)) * TICK_S / s);
  };
}

/** Waits (up to maxMs) until other processes used under `cores` over a `windowMs` window; returns whether they did. */
export async function awaitQuiet(cores = 0.05, windowMs = 300, maxMs = 60_000): Promise<boolean> {
  const end = performance.now() + maxMs;
  while (performance.now() < end) {
    const stop = otherLoad();
    await new Promise((done) => setTimeout(done, windowMs));
    const used = stop();
    if (used === null || used < cores) return true;
  }
  return false;
}
