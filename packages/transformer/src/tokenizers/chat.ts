// Chat templates (tokenizer_config.json's chat_template, GGUF's tokenizer.chat_template): Jinja
// rendered by @huggingface/jinja, a pure-JS interpreter (no code generation from strings) that
// applies transformers' settings (trim_blocks, lstrip_blocks, raise_exception, strftime_now).
import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: string;
  content: string | readonly Record<string, unknown>[];
  [key: string]: unknown;
}

export interface ChatRenderOptions {
  bos_token?: string;
  eos_token?: string;
  /** End with the header of an assistant turn, so the model writes the reply (default false, as transformers). */
  add_generation_prompt?: boolean;
  /** Any other variables the template reads (tools, date_string, ...). */
  [key: string]: unknown;
}

/** A parsed chat template; render() as often as needed. */
export class ChatTemplate {
  private readonly template: Template;

  constructor(readonly source: string, readonly name = 'chat template') {
    if (typeof source !== 'string' || source.trim() === '') throw new TypeError(`${name}: expected a non-empty template string`);
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new Error(`${name}: cannot parse the template: ${(e as Error).message}`);
    }
  }

  render(messages: readonly ChatMessage[], opts: ChatRenderOptions = {}): string {
    checkMessages(messages, this.name);
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${this.name}: options must be an object`);
    try {
      return this.template.render({ bos_token: '', eos_token: '', add_generation_prompt: false, ...opts, messages });
    } catch (e) {
      throw new Error(`${this.name}: rendering failed: ${(e as Error).message}`);
    }
  }
}

/** Renders `messages` with a chat template in one call (parses the template each time). */
export function renderChat(template: string, messages: readonly ChatMessage[], opts: ChatRenderOptions = {}): string {
  return new ChatTemplate(template).render(messages, opts);
}

function checkMessages(messages: unknown, name: string): void {
  if (!Array.isArray(messages)) throw new TypeError(`${name}: messages must be an array of {role, content}`);
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object') throw new TypeError(`${name}: messages[${i}] is not an object`);
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== 'string') throw new TypeError(`${name}: messages[${i}].role must be a string`);
    if (typeof content !== 'string' && !Array.isArray(content)) throw new TypeError(`${name}: messages[${i}].content must be a string (or a list of parts)`);
  });
}
