// Chat templates (jinja, rendered by @huggingface/jinja's interpreter): a separate entry
// (@msrnn/transformer/chat) because the interpreter is about a sixth of the core bundle and pages
// that only run models do not need it.
export { ChatTemplate, renderChat, type ChatMessage, type ChatRenderOptions } from '../tokenizers/chat.js';
export { chatTemplateOf, encodeChat } from '../chat-prompt.js';
