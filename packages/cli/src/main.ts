#!/usr/bin/env node
// The `msrnn` binary: runCli on the process's arguments and streams.
import { runCli } from './cli.js';

// `msrnn generate | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const status = await runCli(process.argv.slice(2));
// Exit now on an error (worker threads may still be winding down); on success let output drain.
if (status !== 0) process.exit(status);
