// Chat templates rendered by ChatTemplate/renderChat against transformers' own renderer
// (fixtures/chat-templates.json, made by tools/reference/chat_templates.py with transformers 5.18).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChatTemplate, renderChat, type ChatMessage } from '../src/chat/index.js';

interface Fixture {
  templates: Record<string, string>;
  conversations: ChatMessage[][];
  cases: { template: string; conversation: number; add_generation_prompt: boolean; bos_token: string; eos_token: string; tools?: unknown; rendered?: string; error?: string }[];
}
const fx: Fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/chat-templates.json'), 'utf8'));

test('every template × conversation × add_generation_prompt renders as transformers renders it', () => {
  assert.is(fx.cases.length, 40);
  const compiled = new Map(Object.entries(fx.templates).map(([name, src]) => [name, new ChatTemplate(src, name)]));
  for (const c of fx.cases) {
    const { template, conversation, rendered, error, ...opts } = c;
    const what = `${template} #${conversation} gen=${c.add_generation_prompt}`;
    const run = (): string => compiled.get(template)!.render(fx.conversations[conversation]!, opts);
    if (error !== undefined) assert.throws(run, (e: Error) => e.message.includes(error), what);
    else assert.is(run(), rendered, what);
  }
});

test('renderChat: defaults (no generation prompt, empty bos/eos) and argument checks', () => {
  const t = '{{ bos_token }}{% for m in messages %}{{ m.role }}={{ m.content }};{% endfor %}{% if add_generation_prompt %}>{% endif %}';
  assert.is(renderChat(t, [{ role: 'user', content: 'hi' }]), 'user=hi;');
  assert.is(renderChat(t, [{ role: 'user', content: 'hi' }], { add_generation_prompt: true, bos_token: '<s>' }), '<s>user=hi;>');
  assert.throws(() => renderChat('', []), /expected a non-empty template string/);
  assert.throws(() => renderChat('{% for %}', []), /chat template: cannot parse the template/);
  assert.throws(() => renderChat(t, [{ role: 'user' } as any]), /messages\[0\]\.content must be a string/);
  assert.throws(() => renderChat(t, [{ role: 1, content: 'x' } as any]), /messages\[0\]\.role must be a string/);
  assert.throws(() => renderChat(t, 'hi' as any), /messages must be an array/);
  assert.throws(() => renderChat("{{ raise_exception('no system') }}", []), /rendering failed: .*no system/);
});

test.run();
