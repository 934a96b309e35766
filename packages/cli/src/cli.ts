// The `msrnn` command line as a function: runCli(argv, io) parses argv (the words after `msrnn`),
// runs the command with its output going to io, and returns the exit status instead of exiting.
// main.ts is the binary around it; tests call it in-process.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { registerGenerate } from './commands/generate.js';
import { registerPpl } from './commands/ppl.js';
import { registerTrace } from './commands/trace.js';
import { registerBench } from './commands/bench.js';
import { registerProfile } from './commands/profile.js';
import { registerInspect } from './commands/inspect.js';
import { registerConvert } from './commands/convert.js';
import { registerRecallData } from './commands/recall-data.js';
import { registerRecall } from './commands/recall.js';
import { registerRecallTrace } from './commands/recall-trace.js';
import { note, processIo, type CliIo } from './io.js';

/** The program with every command registered, writing to io. */
export function createProgram(io: CliIo = processIo): Command {
  const program = new Command('msrnn')
    .description('Run decoder-only transformers as multi-state RNNs (bounded or unbounded) on any CPU')
    .version(version(), '-V, --version', 'print the version')
    // A stray word (`msrnn generate "Once upon a time"`) is an error, not silently ignored.
    .allowExcessArguments(false)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Commander puts its "(Did you mean --steps?)" on a second line; keep every error to one.
      outputError: (message, write) => write(message.replace(/\n(?=\(Did you mean)/, ' ')),
    })
    .exitOverride();
  registerGenerate(program, io);
  registerPpl(program, io);
  registerTrace(program, io);
  registerBench(program, io);
  registerProfile(program, io);
  registerInspect(program, io);
  registerConvert(program, io);
  registerRecallData(program, io);
  registerRecall(program, io);
  registerRecallTrace(program, io);
  return program;
}

/** Runs `msrnn ...argv`; returns the exit status: 0 ok (or --help, --version), 1 a bad option, value or file. */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    await createProgram(io).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err: any) {
    // commander already printed usage errors (and --help / --version, which exit 0).
    if (typeof err?.code === 'string' && err.code.startsWith('commander.')) return err.exitCode ?? 2;
    note(io, `msrnn: ${err?.message ?? err}`);
    return 1;
  }
}

/** The @msrnn/cli package's version (src/ and dist/ both sit beside package.json). */
export function version(): string {
  return JSON.parse(readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8')).version;
}
