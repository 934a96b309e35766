// The options the prompt benches share (prompt-phases, prompt-activations) and their checks.

export const PROMPT_OPTIONS = {
  model: { type: 'string' }, tokens: { type: 'string', default: '512' }, chunk: { type: 'string', default: '128' },
  // Smoke runs (the README test): under 1000 ms, one round of at most 16 tokens.
  time: { type: 'string' },
} as const;

/** Tokens, chunk size and rounds from the parsed options, each a positive integer (else a RangeError naming the flag). */
export function promptRun(values: { tokens: string; chunk: string; rounds: string; time?: string }): { tokens: number; chunk: number; rounds: number } {
  const smoke = values.time !== undefined && Number(values.time) < 1000;
  const tokens = smoke ? Math.min(16, Number(values.tokens)) : Number(values.tokens);
  const chunk = Number(values.chunk), rounds = smoke ? 1 : Number(values.rounds);
  for (const [flag, v] of [['--tokens', tokens], ['--chunk', chunk], ['--rounds', rounds]] as const) {
    if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`${flag} must be a positive integer, got ${v}`);
  }
  return { tokens, chunk, rounds };
}
