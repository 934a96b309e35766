// Option helpers shared by the msrnn commands: default model files and value parsers whose
// errors name the option and what is wrong. Flag parsing lives here only: a parser turns the
// text into a number or name, and the range rule is the library's own check (checkCapacity,
// checkRatio, samplerSettings, ...), called with the flag's name so its error names the flag.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  BACKEND_CHOICES, KV_TYPES, checkBackendChoice, checkKvType, checkThreads, checkWeightType, selectBackend, MAX_THREADS, type BackendChoice, type BackendSelection,
  type KvType, type SelectBackendOptions, type WeightType,
} from '@msrnn/tensor';
import { capacityForBytes, checkCapacity, checkPositionMode, entryBytes, stateBytes, type Policy, type PositionMode } from '@msrnn/msrnn';
import { checkRatio, policyEntry } from '@msrnn/policies';
import { headDimOf, isGguf, loadTokenizer, MODEL_FOLDER_FILES, type Model, type Tokenizer } from '@msrnn/transformer';
import { embeddedTokenizer, loadAnyTokenizer } from '@msrnn/transformer/tokenizers';

const repoRoot = resolve(import.meta.dirname, '../../..');

export interface ModelFiles {
  model: string;
  /** The tokenizer given or defaulted (when inferred, the first of `tokenizerCandidates`); null: the one the model file carries (GGUF metadata). */
  tokenizer: string | null;
  /** Why these files: 'given', 'repo default' or 'shared stories260K'. */
  origin: string;
  /** The tokenizer was not given but is looked for beside the model (see loadTokenizerFor). */
  tokenizerInferred: boolean;
  /** Inferred: the tokenizer files beside the model (tokenizer.bin, tok*.bin), tried in this order. */
  tokenizerCandidates: string[];
}

export interface ModelFlags { model?: string; tokenizer?: string }
export interface StateFlags { sinks: string; positionMode: string; kv: string }
export interface BackendFlags { backend: string; threads?: string }

/** --model and --tokenizer, the same for every command that runs a model. */
export function addModelOptions(command: Command): Command {
  return command
    .option('--model <path>', 'GGUF file, llama2.c checkpoint (v0 or v1 fp32), Hugging Face folder, or a folder holding model.gguf / model.bin; default: models/default/model.bin, else ../shared/models/stories260K.bin')
    .option('--tokenizer <file>', 'llama2.c tokenizer.bin, a Hugging Face tokenizer.json or its folder, or a GGUF file\'s vocabulary (default: the one a GGUF model carries; else the llama2.c tokenizer beside --model that fits its vocabulary: tok<vocab>.bin, tokenizer.bin, tok*.bin; or the default model\'s)');
}

/** --sliding-window: replaces the model file's window (a Mistral GGUF has none: llama.cpp's converter drops it). */
export function addSlidingWindowOption(command: Command): Command {
  return command.option('--sliding-window <n>', 'the model\'s own sliding window: W on the layers the file windows (every layer when it windows none, as a Mistral GGUF), or "none"; default: what the file says');
}

/** The LoadOptions a --sliding-window value asks for (none when the flag is absent). */
export function parseSlidingWindow(value: string | undefined): { slidingWindow?: number | null } {
  if (value === undefined) return {};
  if (/^\s*none\s*$/i.test(value)) return { slidingWindow: null };
  return { slidingWindow: parsePositiveInt('--sliding-window', value) };
}

/** The state options every policy-running command shares: --sinks, --position-mode and --kv. */
export function addStateOptions(command: Command): Command {
  return addKvOption(command
    .option('--sinks <n>', 'sinks policy: first positions always kept', '4')
    .option('--position-mode <mode>', 'absolute (keys at original positions, TOVA) or reindex (StreamingLLM)', 'absolute'));
}

export function parseStateOptions(flags: StateFlags): { sinks: number; positionMode: PositionMode; kv: KvType } {
  return { sinks: parseNonNegativeInt('--sinks', flags.sinks), positionMode: checkPositionMode(flags.positionMode, '--position-mode'), kv: parseKv(flags.kv) };
}

/** --kv: how the state stores keys and values (every command that runs a model). */
export function addKvOption(command: Command): Command {
  return command.option('--kv <type>', `key/value entries: ${KV_TYPES.join(', ')} (f16: half the bytes; q8: int8 blocks of 32 with a scale, about a quarter)`, 'f32');
}

export function parseKv(value: string): KvType {
  return checkKvType(value, '--kv');
}

/** --kv-bytes: a state budget in bytes instead of --capacity (commands that run one capacity). */
export function addKvBytesOption(command: Command): Command {
  return command.option('--kv-bytes <size>', 'state budget instead of a capacity: the largest capacity whose state fits (e.g. 4MB, 512KiB; printed)');
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };

/** A size: a number of bytes with an optional unit (KB, MB, GB decimal; KiB, MiB, GiB binary). */
export function parseByteSize(option: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!(bytes > 0)) throw new RangeError(`${option}: "${value}" is not a size (a positive number of bytes, optionally with B, KB, MB, GB, KiB, MiB or GiB)`);
  return bytes;
}

/** The shape stateBytes and capacityForBytes size a state by, as createState builds it. */
function stateGeometry(model: Model): { nLayers: number; nKvHeads: number; headDim: number } {
  const c = model.config;
  return { nLayers: c.nLayers, nKvHeads: c.nKvHeads, headDim: headDimOf(c) };
}

/**
 * The policy for a budget of `budget` bytes: `make(k)` with the largest capacity k whose state
 * (stateBytes, in `kv` entries) fits. A RangeError naming `option` when not even k = 1 fits. Returns
 * the policy and a line saying what the budget allows.
 */
export function policyForBytes(option: string, model: Model, budget: number, kv: KvType, make: (capacity: number) => Policy): { policy: Policy; line: string } {
  const c = model.config, geometry = stateGeometry(model);
  const probe = make(1);
  if (probe.capacity === Infinity) throw new RangeError(`${option} needs a policy with a fixed capacity; "${probe.name}" grows with the text`);
  const spe = probe.statsPerEntry ?? 0;
  let k = capacityForBytes(geometry, budget, kv, spe, option);
  // Per-layer schedules (pyramidkv) may spend more than k + 1 slots on some layers: search down to what fits.
  if (stateBytes(geometry, make(k), 64, kv) > budget) {
    let lo = 1, hi = k;
    while (lo < hi) { const mid = Math.ceil((lo + hi) / 2); if (stateBytes(geometry, make(mid), 64, kv) <= budget) lo = mid; else hi = mid - 1; }
    if (stateBytes(geometry, make(lo), 64, kv) > budget) throw new RangeError(`${option} ${budget}: too small for policy "${probe.name}" even at capacity 1`);
    k = lo;
  }
  const policy = make(k), bytes = stateBytes(geometry, policy, 64, kv);
  const perToken = c.nLayers * c.nKvHeads * entryBytes(geometry.headDim, kv, spe);
  return { policy, line: `${option} ${budget}: capacity ${k} per layer (${kv} entries, ${perToken} bytes per token over ${c.nLayers} layers × ${c.nKvHeads} KV heads; state ${bytes} bytes)` };
}

/**
 * --kv-bytes turns a byte budget into a capacity, so every policy `option` (--policy, --policies)
 * names must be one a capacity bounds: not one that keeps every entry, nor one with a ratio budget.
 * One check and the same words in every command that takes --kv-bytes; `option` only prefixes an unknown name.
 */
export function checkKvBytesPolicies(option: '--policy' | '--policies', policies: readonly string[]): void {
  for (const name of policies) {
    let entry;
    try { entry = policyEntry(name); } catch (err: any) { throw new RangeError(`${option}: ${err?.message ?? err}`); }
    if (entry.unbounded) throw new Error(`--kv-bytes bounds the state, but policy "${name}" keeps every entry; pick an eviction policy`);
    if (entry.needsRatio) throw new Error(`--kv-bytes gives a capacity, but policy "${name}" takes a ratio budget (a share of the tokens seen); pick one with a capacity`);
  }
}

/** --backend; `note` says how the command uses it (ppl: one backend per worker). */
export function addBackendOption(command: Command, note = ''): Command {
  return command.option('--backend <name>', `kernels: ${BACKEND_CHOICES.join(', ')} (auto = WebAssembly SIMD where available${note})`, 'auto');
}

/** --backend and --threads for a command that runs one backend in this process. */
export function addBackendOptions(command: Command): Command {
  return addBackendOption(command).option('--threads <n>', `threads for the wasm backend, 1 to ${MAX_THREADS} (default: one per core, at most ${DEFAULT_THREADS_MAX}: here ${defaultDecodeThreads()}; `
    + `a busy machine is safe, jobs stay on one thread while sharing them does not pay; more than the cores, here ${cores()}, warns: they only wait on each other)`);
}

export function parseBackendChoice(value: string): BackendChoice {
  return checkBackendChoice(value, '--backend');
}

export function parseWeightType(option: string, value: string): WeightType {
  return checkWeightType(value, option);
}

/** Cores this process may use. */
export function cores(): number {
  return availableParallelism();
}

/**
 * Most threads the default picks. Not measured beyond this machine's 2 cores: a decode step's jobs
 * (a few µs to a few hundred µs each) leave little to share among more than 4.
 */
export const DEFAULT_THREADS_MAX = 4;

/**
 * --threads when not given: one per core, at most DEFAULT_THREADS_MAX, never more than the cores.
 * Safe where the cores are busy: the thread pool keeps jobs on the calling thread while handing
 * them out does not pay, and idle workers sleep (@msrnn/tensor threads/split-judge.ts, spin.ts).
 */
export function defaultDecodeThreads(): number {
  return Math.max(1, Math.min(cores(), DEFAULT_THREADS_MAX));
}

/** A thread count; more threads than cores is allowed (measuring it is legitimate) but `warn`ed. */
export function parseThreads(option: string, value: string, warn: (line: string) => void): number {
  const threads = checkThreads(integerOrRaw(value), option);
  if (threads > cores()) {
    warn(`warning: ${option} ${threads} is more than the ${cores()} cores here; the extra threads wait for a core and make every step slower`);
  }
  return threads;
}

/** The thread pool's options no flag of --backend/--threads sets (a command's own, e.g. profile's --always-share). */
export interface PoolOptions { alwaysShare?: boolean }

/** --backend and --threads checked (a bad one throws; too many threads are `warn`ed), as selectBackend takes them. */
export function backendRequestFor(flags: BackendFlags, warn: (line: string) => void, poolOptions: PoolOptions = {}): SelectBackendOptions {
  const backend = parseBackendChoice(flags.backend);
  // Not given: the default rule, where there is a wasm backend to use the threads (auto falls back to one thread with its note).
  // The js refusal first: a refused --threads gets its one error line, not also the too-many-cores warning.
  const warnUnlessRefused = backend === 'js' ? () => {} : warn;
  const threads = flags.threads !== undefined ? parseThreads('--threads', flags.threads, warnUnlessRefused) : backend === 'js' ? 1 : defaultDecodeThreads();
  if (backend === 'js' && threads > 1) throw new Error(`--threads ${threads} needs the wasm backend (--backend js is single-threaded)`);
  return { backend, threads, ...poolOptions };
}

export function selectBackendFor(flags: BackendFlags, warn: (line: string) => void): Promise<BackendSelection> {
  return selectBackend(backendRequestFor(flags, warn));
}

/**
 * The files a command uses: the flags when given; otherwise the repo's models/default (trained
 * for this project) when present, else ../shared/models/stories260K.bin with tok512.bin.
 */
export function defaultModelFiles(flags: ModelFlags): ModelFiles {
  // A folder without config.json holding model.gguf or a llama2.c model.bin (models/default): that file.
  if (flags.model && statSync(flags.model, { throwIfNoEntry: false })?.isDirectory() && !existsSync(join(flags.model, 'config.json'))) {
    const inside = MODEL_FOLDER_FILES.map((n) => join(flags.model!, n)).find((p) => existsSync(p));
    if (!inside) throw new Error(`--model ${flags.model}: a folder with no config.json (Hugging Face), ${MODEL_FOLDER_FILES.join(' or ')}`);
    return defaultModelFiles({ ...flags, model: inside });
  }
  let files: ModelFiles;
  if (flags.model && isGgufPath(flags.model)) {
    files = { model: flags.model, tokenizer: flags.tokenizer ?? null, origin: 'given', tokenizerInferred: false, tokenizerCandidates: [] };
  } else if (flags.model && statSync(flags.model, { throwIfNoEntry: false })?.isDirectory()) {
    // A Hugging Face folder carries its tokenizer (tokenizer.json and its configs).
    files = { model: flags.model, tokenizer: flags.tokenizer ?? flags.model, origin: 'given', tokenizerInferred: false, tokenizerCandidates: [] };
  } else if (flags.model) {
    const candidates = flags.tokenizer ? [] : tokenizersBeside(flags.model);
    const tokenizer = flags.tokenizer ?? candidates[0];
    if (!tokenizer) throw new Error(`--tokenizer is required with --model ${flags.model} (no tokenizer.bin or tok*.bin beside it)`);
    files = { model: flags.model, tokenizer, origin: 'given', tokenizerInferred: !flags.tokenizer, tokenizerCandidates: candidates };
  } else {
    const repoModel = resolve(repoRoot, 'models/default/model.bin');
    const repoTokenizer = resolve(repoRoot, 'models/default/tokenizer.bin');
    files = existsSync(repoModel) && existsSync(repoTokenizer)
      ? { model: repoModel, tokenizer: flags.tokenizer ?? repoTokenizer, origin: 'repo default (models/default)', tokenizerInferred: false, tokenizerCandidates: [] }
      : {
        model: resolve(repoRoot, '../shared/models/stories260K.bin'),
        tokenizer: flags.tokenizer ?? resolve(repoRoot, '../shared/models/tok512.bin'),
        origin: 'shared stories260K',
        tokenizerInferred: false,
        tokenizerCandidates: [],
      };
  }
  for (const [what, p] of [['model', files.model], ['tokenizer', files.tokenizer]] as const) {
    if (p !== null && !existsSync(p)) throw new Error(`${what} file ${p} not found; give --${what} FILE`);
  }
  return files;
}

/** Whether `path` starts with the GGUF magic (a missing file is not: the caller's check names it). */
export function isGgufPath(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = new Uint8Array(4);
      return readSync(fd, head, 0, 4, 0) === 4 && isGguf(head);
    } finally { closeSync(fd); }
  } catch {
    return false;
  }
}

/** llama2.c tokenizer files beside `model`: tokenizer.bin first, then tok*.bin by name. */
function tokenizersBeside(model: string): string[] {
  const dir = dirname(resolve(model));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // the model's own check reports a missing folder
  }
  const found = names.filter((n) => n === 'tokenizer.bin' || /^tok.*\.bin$/.test(n)).sort((a, b) => Number(b === 'tokenizer.bin') - Number(a === 'tokenizer.bin') || a.localeCompare(b));
  // Paths as the user wrote the model's (relative stays relative in messages).
  return found.map((n) => join(dirname(model), n)).filter((p) => statSync(p, { throwIfNoEntry: false })?.isFile());
}

/**
 * The tokenizer for `model`: --tokenizer's file (it must fit), else the one the model file carries
 * (GGUF), else the candidate beside --model that fits: tok<vocab>.bin first (llama2.c's naming),
 * then the others in order. `note` says which was taken; none fitting is one error listing why.
 */
export async function loadTokenizerFor(files: ModelFiles, model: Model, note: (line: string) => void = () => {}): Promise<Tokenizer> {
  const vocabSize = model.config.vocabSize;
  if (files.tokenizer === null) {
    const embedded = embeddedTokenizer(model);
    if (!embedded) throw new Error(`${files.model} carries no tokenizer (no tokenizer.ggml.model); give --tokenizer FILE`);
    return embedded;
  }
  if (!files.tokenizerInferred) return loadAnyTokenizer(files.tokenizer, { vocabSize });
  const named = files.tokenizerCandidates.filter((p) => basename(p) === `tok${vocabSize}.bin`);
  const order = [...named, ...files.tokenizerCandidates.filter((p) => !named.includes(p))];
  const reasons: string[] = [];
  for (const path of order) {
    try {
      const tokenizer = await loadTokenizer(path, { vocabSize });
      note(`tokenizer: ${path} (found beside --model: its ${vocabSize} pieces match the model's vocabulary${order.length > 1 ? `; also there: ${order.filter((p) => p !== path).map((p) => basename(p)).join(', ')}` : ''})`);
      return tokenizer;
    } catch (err: any) {
      reasons.push(err?.message ?? String(err));
    }
  }
  throw new Error(`no tokenizer beside --model fits its vocabulary of ${vocabSize}: ${reasons.join('; ')}; give --tokenizer FILE`);
}

export function parsePositiveInt(option: string, value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${option}: "${value}" is not a positive integer`);
  return n;
}

export function parseNonNegativeInt(option: string, value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new RangeError(`${option}: "${value}" is not a non-negative integer`);
  return n;
}

/**
 * The flag's text as a number when it is one, else the text itself: a library check then
 * rejects it quoted (`--ratio must be in (0, 1], got "0.1,0.2"`), so each range rule is written
 * once, in the library, and its error still shows what was typed.
 */
export function numberOrRaw(value: string): number | string {
  const n = Number(value);
  // Number('') is 0: an empty flag is not zero.
  return value.trim() !== '' && Number.isFinite(n) ? n : value;
}

/** Like numberOrRaw, for integers written as digits ("1e3" and "0x10" stay text). */
export function integerOrRaw(value: string): number | string {
  return /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : value;
}

/** A number in syntax only (the range is the library's check). */
export function parseNumber(option: string, value: string): number {
  const n = numberOrRaw(value);
  if (typeof n === 'string') throw new RangeError(`${option}: "${value}" is not a number`);
  return n;
}

/** A budget as a fraction of the tokens seen. */
export function parseRatio(option: string, value: string): number {
  return checkRatio(numberOrRaw(value), option);
}

/** A state capacity: a positive integer, or "Infinity" / "inf" / "full" for an unbounded state. */
export function parseCapacity(option: string, value: string): number {
  if (/^(infinity|inf|full)$/i.test(value.trim())) return Infinity;
  return checkCapacity(integerOrRaw(value) as number, option);
}

/**
 * The state a policy asks for must fit the memory it will live in, checked before allocating:
 * the wasm backend's memory (at most 4 GiB: a 32-bit address space, the model included) or this
 * machine's. `option` names the flag that set the capacity. Returns the bytes it will allocate.
 */
export function checkStateMemory(option: string, model: Model, policy: Policy, inWasm: boolean, kv: KvType = 'f32'): number {
  const c = model.config, geometry = stateGeometry(model);
  const bytes = stateBytes(geometry, policy, 64, kv);
  const limit = stateMemoryLimit(inWasm);
  if (bytes > limit) {
    const where = inWasm ? `the wasm backend's memory (${gib(WASM_MEMORY_BYTES)}, the model included)` : `this machine's memory (${gib(limit)})`;
    throw new RangeError(`${option} ${policy.capacity}: the state would need ${gib(bytes)} (${c.nLayers} layers × ${c.nKvHeads} KV heads × ${policy.capacity + 1} entries of ${geometry.headDim}-value ${kv} keys and values), more than ${where}; give a smaller ${option}`);
  }
  return bytes;
}

/** The most memory a state can have: a wasm32 memory, or this machine's. */
export function stateMemoryLimit(inWasm: boolean): number {
  return inWasm ? WASM_MEMORY_BYTES : totalmem();
}

/** A wasm32 memory: 65536 pages of 64 KiB. */
const WASM_MEMORY_BYTES = 2 ** 32;

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Fails now, not after a sweep of minutes or hours, when an output file cannot be written: its
 * folder is missing or the path is a folder.
 */
export function checkOutputFile(option: string, path: string | undefined): void {
  if (path === undefined) return;
  const folder = dirname(resolve(path));
  if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${option} ${path}: folder ${folder} does not exist`);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${option} ${path}: is a folder, not a file`);
}
