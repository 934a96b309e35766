// Parsers for list options: every bad value names its option and what is wrong.
import { parsePositiveInt, parseRatio } from '../options.js';

/** The capacities ppl and recall sweep when --capacities is not given. */
export const DEFAULT_CAPACITIES = '16,32,64,128,256';

export function parseList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Capacities: positive integers; "full" is accepted and ignored here (the full policy is its own run). */
export function parseCapacities(option: string, value: string): number[] {
  const out: number[] = [];
  for (const item of parseList(value)) {
    if (item === 'full') continue;
    if (/^-?\d+(\.\d*)?$/.test(item) && Number(item) <= 0) throw new RangeError(`${option}: capacity must be > 0, got ${item}`);
    out.push(parsePositiveInt(option, item));
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

export function parseRatios(option: string, value: string): number[] {
  return [...new Set(parseList(value).map((item) => parseRatio(option, item)))].sort((a, b) => a - b);
}
