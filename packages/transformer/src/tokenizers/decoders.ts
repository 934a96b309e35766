// tokenizer.json's "decoder" (token strings -> text), run as the Rust `tokenizers` crate runs it:
// each step maps a list of token strings to a new list. Written here rather than taken from
// @huggingface/tokenizers because that library's ByteFallback decodes an invalid byte run
// lossily, where the Rust crate (and so transformers) writes one U+FFFD per byte token.
// Decoder-only models use ByteLevel (GPT-2, Llama-3, Qwen) or the SentencePiece chain
// Replace(▁→' ') · ByteFallback · Fuse · Strip, or Metaspace; others are a clear error.

/** Decodes token strings to text; `atStart` false = the tokens continue earlier text (no leading-space strip). */
export type DecodeChain = (tokens: string[], atStart: boolean) => string;

/** Whether a decoder config has a ByteFallback step (its byte runs are only final once they end). */
export function usesByteFallback(config: unknown): boolean {
  if (config === null || typeof config !== 'object') return false;
  const c = config as Record<string, unknown>;
  return c.type === 'ByteFallback' || (c.type === 'Sequence' && Array.isArray(c.decoders) && c.decoders.some(usesByteFallback));
}

/** A `<0xNN>` byte-fallback token's byte, or -1. */
export function fallbackByte(token: string): number {
  return token.length === 6 && token.startsWith('<0x') && token.endsWith('>') ? parseHexByte(token.slice(3, 5)) : -1;
}

type Step = (tokens: string[], atStart: boolean) => string[];

export const SUPPORTED_DECODERS = ['ByteLevel', 'Replace', 'ByteFallback', 'Fuse', 'Strip', 'Metaspace', 'Sequence'];

export function compileDecoder(config: unknown, source: string): DecodeChain {
  if (config === null || config === undefined) return (tokens) => tokens.join(' ');
  const step = compileStep(config, source);
  return (tokens, atStart) => step(tokens, atStart).join('');
}

function compileStep(config: unknown, source: string): Step {
  if (typeof config !== 'object' || config === null) throw new Error(`${source}: decoder must be an object, got ${JSON.stringify(config)}`);
  const c = config as Record<string, any>;
  switch (c.type) {
    case 'Sequence': {
      if (!Array.isArray(c.decoders)) throw new Error(`${source}: Sequence decoder has no "decoders" list`);
      const steps = c.decoders.map((d: unknown) => compileStep(d, source));
      return (tokens, atStart) => steps.reduce((t: string[], s: Step) => s(t, atStart), tokens);
    }
    case 'ByteLevel':
      return byteLevel;
    case 'Replace': {
      const from = c.pattern?.String;
      if (typeof from !== 'string' || typeof c.content !== 'string') {
        throw new Error(`${source}: Replace decoder: only a {"String": ...} pattern with a string content is supported, got ${JSON.stringify(c.pattern)}`);
      }
      return (tokens) => tokens.map((t) => t.split(from).join(c.content));
    }
    case 'ByteFallback':
      return byteFallback;
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Strip': {
      const content = String(c.content ?? ' ');
      const start = Number(c.start ?? 0), stop = Number(c.stop ?? 0);
      return (tokens, atStart) => tokens.map((t, i) => strip(t, content, atStart || i > 0 ? start : 0, stop));
    }
    case 'Metaspace': {
      const replacement = String(c.replacement ?? '▁');
      // Older files say add_prefix_space instead of prepend_scheme.
      const prepends = c.prepend_scheme !== undefined ? c.prepend_scheme !== 'never' : c.add_prefix_space !== false;
      // As the Rust crate: in the first token every replacement char is dropped, elsewhere it becomes a space.
      return (tokens, atStart) => tokens.map((t, i) => t.split(replacement).join(i === 0 && atStart && prepends ? '' : ' '));
    }
    default:
      throw new Error(`${source}: unsupported decoder type ${JSON.stringify(c.type)} (supported: ${SUPPORTED_DECODERS.join(', ')})`);
  }
}

function strip(token: string, content: string, start: number, stop: number): string {
  const chars = Array.from(token);
  let from = 0, to = chars.length;
  while (from < start && from < to && chars[from] === content) from++;
  while (chars.length - to < stop && to > from && chars[to - 1] === content) to--;
  return from === 0 && to === chars.length ? token : chars.slice(from, to).join('');
}

// ignoreBOM: a U+FEFF in the text is content (Rust's from_utf8 keeps it), not a byte-order mark to drop.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** GPT-2's byte <-> printable-character table (bytes that print as themselves keep their code). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table.push(String.fromCharCode(printable ? b : 256 + extra++));
  }
  return table;
})();
const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((ch, b) => [ch, b]));

/** All tokens' characters mapped back to bytes, then UTF-8 with one U+FFFD per invalid sequence. */
function byteLevel(tokens: string[]): string[] {
  const bytes: number[] = [];
  for (const t of tokens) {
    const start = bytes.length;
    let mapped = true;
    for (const ch of t) {
      const b = CHAR_TO_BYTE.get(ch);
      if (b === undefined) { mapped = false; break; }
      bytes.push(b);
    }
    // A token with a character outside the table (an added token) contributes its own UTF-8.
    if (!mapped) { bytes.length = start; for (const b of new TextEncoder().encode(t)) bytes.push(b); }
  }
  return [utf8.decode(Uint8Array.from(bytes))];
}

/** `<0xNN>` tokens to bytes; a run that is not valid UTF-8 becomes one U+FFFD per byte token. */
function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let run: number[] = [];
  const flush = (): void => {
    if (run.length === 0) return;
    try { out.push(strictUtf8.decode(Uint8Array.from(run))); } catch { out.push('\uFFFD'.repeat(run.length)); }
    run = [];
  };
  for (const t of tokens) {
    const byte = fallbackByte(t);
    if (byte >= 0) { run.push(byte); continue; }
    flush();
    out.push(t);
  }
  flush();
  return out;
}

function parseHexByte(s: string): number {
  return /^[0-9A-Fa-f]{2}$/.test(s) ? parseInt(s, 16) : -1;
}
