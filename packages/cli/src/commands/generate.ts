import type { Command } from 'commander';

// Placeholder until the transformer issue lands `msrnn generate`.
export function registerGenerate(program: Command): void {
  program.command('generate').description('generate text (being built)').action(() => {
    throw new Error('generate is not built yet');
  });
}
