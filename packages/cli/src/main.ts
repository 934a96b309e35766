#!/usr/bin/env node
// The `msrnn` command line. Each subcommand lives in ./commands and registers itself here.
import { Command } from 'commander';
import { registerGenerate } from './commands/generate.js';
import { registerPpl } from './commands/ppl.js';
import { registerTrace } from './commands/trace.js';
import { registerBench } from './commands/bench.js';
import { registerRecallData } from './commands/recall-data.js';

// `msrnn generate | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command('msrnn')
  .description('Run decoder-only transformers as multi-state RNNs (bounded or unbounded) on any CPU')
  // A stray word (`msrnn generate "Once upon a time"`) is an error, not silently ignored.
  .allowExcessArguments(false)
  // Commander puts its "(Did you mean --steps?)" on a second line; keep every error to one.
  .configureOutput({ outputError: (message, write) => write(message.replace(/\n(?=\(Did you mean)/, ' ')) })
  .exitOverride();

registerGenerate(program);
registerPpl(program);
registerTrace(program);
registerBench(program);
registerRecallData(program);

try {
  await program.parseAsync(process.argv);
} catch (err: any) {
  // commander already printed usage errors; ours get one clear line and a non-zero exit.
  if (err?.code?.startsWith?.('commander.')) process.exit(err.exitCode ?? 2);
  console.error(`msrnn: ${err?.message ?? err}`);
  process.exit(1);
}
