// Where a command writes. The `msrnn` binary passes the process's streams; runCli's callers
// (tests, other programs) pass any writer, so commands run in-process with their output captured.
export interface Output {
  write(text: string): unknown;
  /** A terminal: progress bars are drawn only there. */
  isTTY?: boolean;
}

export interface CliIo {
  stdout: Output;
  stderr: Output;
}

export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };

/** One line to stderr (notes, warnings, timings). */
export function note(io: CliIo, line: string): void {
  io.stderr.write(`${line}\n`);
}

/** One line to stdout (results). */
export function print(io: CliIo, line: string): void {
  io.stdout.write(`${line}\n`);
}

/** "1 token", "2 tokens": a count with its noun in the right number. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** "full keeps", "full, window keep": a list as the subject of a verb. */
export function listVerb(items: readonly string[], singular: string, plural: string): string {
  return `${items.join(', ')} ${items.length === 1 ? singular : plural}`;
}
