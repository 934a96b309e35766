// Run by no-codegen-tokenizers.test.ts under `node --disallow-code-generation-from-strings`:
// loads tokenizer.json folders (the @huggingface/tokenizers path), a GGUF vocabulary, and renders
// a chat template (@huggingface/jinja); prints what came out as JSON.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

let codegenBlocked = false;
try { new Function('return 1'); } catch (e) { codegenBlocked = e instanceof EvalError; }

const { parseGguf } = await import('../src/index.js');
const { loadHfTokenizer, tokenizerFromGgufMetadata } = await import('../src/tokenizers/index.js');
const { renderChat } = await import('../src/chat/index.js');
const [hfModels, llamaGguf] = process.argv.slice(2) as [string, string];
const encoded: Record<string, number[]> = {};
for (const name of ['gpt2-tiny', 'qwen2-tiny', 'llama-tiny', 'mistral-tiny']) {
  const tok = await loadHfTokenizer(join(hfModels, name));
  encoded[name] = tok.encode("Hello world, it's 2024! 😀");
  if (tok.decode(encoded[name], { skipSpecial: true }) !== "Hello world, it's 2024! 😀") throw new Error(`${name} round trip`);
}
const gguf = parseGguf(readFileSync(llamaGguf));
encoded.gguf = tokenizerFromGgufMetadata(gguf.metadata.entries).encode('Hello world');
const chat = renderChat("{% for m in messages %}{{ '<|' + m.role + '|>' + m.content | trim }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
  [{ role: 'user', content: ' hi ' }], { add_generation_prompt: true });
console.log(JSON.stringify({ codegenBlocked, encoded, chat }));
