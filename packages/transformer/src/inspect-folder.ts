// What a Hugging Face folder holds, without running it (msrnn inspect FOLDER): the same report as
// inspectModelBytes gives for a file. Beside the writers (@msrnn/transformer/export), so pages that
// only run models do not bundle it.
import type { ModelConfig } from './config.js';
import { jsonFile, type FileMap } from './files.js';
import { hfLayout } from './hf/config.js';
import { bytesPerEntry, type InspectedTokenizer, type ModelReport } from './inspect.js';
import { readSafetensorsFiles } from './safetensors/folder.js';

/**
 * What a Hugging Face folder (file name → bytes: config.json, the safetensors, tokenizer.json and
 * tokenizer_config.json when present) holds. Shapes are listed fastest dimension first, like
 * GGUF's (a safetensors [out, in] matrix shows as [in, out]).
 */
export function inspectModelFiles(files: FileMap, source = '<folder>'): ModelReport {
  const json = jsonFile(files, 'config.json', source);
  if (json === undefined) throw new Error(`${source}: not a Hugging Face model folder (no config.json)`);
  const ckpt = readSafetensorsFiles(files, source);
  const tensors = [...ckpt.tensors.values()].map((t) => ({ name: t.name, type: t.dtype, shape: [...t.shape].reverse(), bytes: t.bytes.byteLength }));
  const hyperparameters: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') hyperparameters[k] = v;
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) hyperparameters[k] = JSON.stringify(v);
  }
  let config: ModelConfig | null = null, family = String((json as Record<string, unknown>).model_type), unsupportedReason: string | null = null;
  try {
    const layout = hfLayout(json, `${source}/config.json`);
    config = layout.config;
    family = layout.family;
  } catch (err: any) {
    unsupportedReason = String(err?.message ?? err).replace(`${source}/config.json: `, '');
  }
  const dtypes = new Map<string, number>();
  for (const t of tensors) dtypes.set(t.type, (dtypes.get(t.type) ?? 0) + 1);
  return {
    source, format: `Hugging Face folder (safetensors${ckpt.files.length > 1 ? `, ${ckpt.files.length} shards` : ''}: ${[...dtypes].map(([d, n]) => `${d} ×${n}`).join(', ')})`,
    architecture: family, name: null, supported: config !== null, unsupportedReason, config, hyperparameters,
    tokenizer: inspectTokenizerJson(files, source), tensors,
    parameters: [...ckpt.tensors.values()].reduce((a, t) => a + t.elements, 0),
    weightBytes: tensors.reduce((a, t) => a + t.bytes, 0),
    stateBytesPerEntry: config ? bytesPerEntry(config) : null,
  };
}

/** tokenizer.json (and tokenizer_config.json) as the report lists a tokenizer, read as JSON only. */
function inspectTokenizerJson(files: FileMap, source: string): InspectedTokenizer {
  const tok = jsonFile(files, 'tokenizer.json', source) as Record<string, any> | undefined;
  const cfg = (jsonFile(files, 'tokenizer_config.json', source) ?? {}) as Record<string, any>;
  if (tok === undefined || typeof tok !== 'object' || tok === null) {
    return { kind: 'none (no tokenizer.json)', size: null, special: [], controlTokens: [], controlTokenCount: 0, addBos: null, addEos: null, preTokenizer: null, merges: null, chatTemplate: false };
  }
  const model = tok.model ?? {};
  const vocab = model.vocab && typeof model.vocab === 'object' ? model.vocab as Record<string, number> : {};
  const added: { id: number; content: string; special?: boolean }[] = Array.isArray(tok.added_tokens) ? tok.added_tokens : [];
  const ids = new Set([...Object.values(vocab), ...added.map((a) => a.id)]);
  const named = (role: string, value: unknown) => {
    const piece = typeof value === 'string' ? value : (value as { content?: unknown } | null)?.content;
    if (typeof piece !== 'string') return [];
    const id = vocab[piece] ?? added.find((a) => a.content === piece)?.id;
    return id === undefined ? [] : [{ role, id, piece }];
  };
  const control = added.filter((a) => a.special);
  return {
    kind: `tokenizer.json (${model.type ?? 'unknown model'}${model.byte_fallback ? ' with byte fallback' : ''})`,
    size: ids.size, special: [...named('bos', cfg.bos_token), ...named('eos', cfg.eos_token), ...named('unknown', model.unk_token)],
    controlTokens: control.slice(0, 32).map((a) => ({ id: a.id, piece: a.content })), controlTokenCount: control.length,
    addBos: typeof cfg.add_bos_token === 'boolean' ? cfg.add_bos_token : null, addEos: typeof cfg.add_eos_token === 'boolean' ? cfg.add_eos_token : null,
    preTokenizer: tok.pre_tokenizer?.type ?? null, merges: Array.isArray(model.merges) ? model.merges.length : null,
    chatTemplate: cfg.chat_template !== undefined && cfg.chat_template !== null,
  };
}

