// A chat turn as the model expects it: the messages rendered by the model's own chat template
// (GGUF tokenizer.chat_template), ending with the assistant's header, then encoded.
import type { Model } from './model.js';
import { ChatTemplate, type ChatMessage } from './tokenizers/chat.js';
import type { Tokenizer } from './tokenizers/types.js';

/** The chat template the model file carries, or null. */
export function chatTemplateOf(model: Model): ChatTemplate | null {
  const m = model.metadata;
  if (m === null || !m.has('tokenizer.chat_template')) return null;
  return new ChatTemplate(m.string('tokenizer.chat_template'), `${model.source}: chat template`);
}

/** `messages` rendered with the model's template (add_generation_prompt) and encoded: the prompt of the reply. */
export function encodeChat(model: Model, tokenizer: Tokenizer, messages: readonly ChatMessage[]): { text: string; tokens: number[] } {
  const template = chatTemplateOf(model);
  if (!template) throw new Error(`${model.source} has no chat template (tokenizer.chat_template); instruct models' GGUF files carry one`);
  const piece = (id: number | undefined): string => (id === undefined ? '' : tokenizer.idToToken(id) ?? '');
  const bos = piece(tokenizer.bosId);
  const text = template.render(messages, { bos_token: bos, eos_token: piece(tokenizer.eosId), add_generation_prompt: true });
  // A template that writes BOS itself gets no second one (as llama.cpp does).
  const tokens = tokenizer.encode(text, bos !== '' && text.startsWith(bos) ? { bos: false } : {});
  return { text, tokens };
}
