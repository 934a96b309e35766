// A Cloudflare-style module worker, bundled by edge.test.ts and served by workerd: runs the
// stories260K greedy fixture's prompts with the core packages, where Node APIs, code generation
// from strings (and compiling WebAssembly from bytes) are absent. Model bytes come as data modules.
// @ts-expect-error data modules, resolved by workerd
import modelBytes from 'model.bin';
// @ts-expect-error data modules, resolved by workerd
import tokenizerBytes from 'tokenizer.bin';
import { selectBackend } from '@msrnn/tensor';
import { argmax, BOS, createState, modelFromBytes, prefill, step, tokenizerFromBytes } from '@msrnn/transformer';

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const prompts: string[] = JSON.parse(url.searchParams.get('prompts') ?? '[]');
    const steps = Number(url.searchParams.get('steps') ?? '200');
    let codegen = 'allowed';
    try { new Function('return 1'); } catch (e) { codegen = `forbidden (${(e as Error).name})`; }
    const sel = await selectBackend({ backend: 'auto' });
    const model = modelFromBytes(modelBytes as ArrayBuffer, { backend: sel.backend });
    const tokenizer = tokenizerFromBytes(tokenizerBytes as ArrayBuffer, 'tokenizer.bin', model.config.vocabSize);
    const runs = prompts.map((prompt) => {
      const tokens = tokenizer.encode(prompt);
      const state = createState(model);
      let logits = prefill(model, state, tokens);
      const out: number[] = [];
      for (let i = 0; i < steps; i++) {
        const t = argmax(logits);
        if (t === BOS) break;
        out.push(t);
        logits = step(model, state, t);
      }
      return { prompt, promptTokens: tokens, tokens: out };
    });
    const hasProcess = typeof (globalThis as { process?: unknown }).process !== 'undefined';
    return Response.json({ backend: sel.backend.name, note: sel.note ?? null, codegen, hasProcess, runs });
  },
};
