// Token ids of a recall example, as the model sees it: BOS + the whole text; the scored answer is
// ids[answerFrom..]. The prompt alone must encode to a prefix of the whole text's ids (BPE merges must
// not cross the prompt/answer boundary), otherwise "continue the prompt" and "score the answer"
// would read different token streams; the task formats are chosen so this holds, and it is checked.
import type { Tokenizer } from '@msrnn/transformer';
import type { RecallExample } from './tasks.js';

export interface EncodedExample {
  ids: number[];
  /** Index in ids of the first answer token. */
  answerFrom: number;
}

export function encodeExample(tokenizer: Tokenizer, example: RecallExample): EncodedExample {
  const ids = tokenizer.encode(example.text, { bos: true });
  const prompt = tokenizer.encode(example.text.slice(0, example.answerStart), { bos: true });
  const prefix = prompt.length < ids.length && prompt.every((id, i) => ids[i] === id);
  if (!prefix) {
    throw new Error(`${example.task} example: the prompt's tokens are not a prefix of the whole text's tokens with the ${tokenizer.kind} tokenizer (the answer merges with the prompt)`);
  }
  return { ids, answerFrom: prompt.length };
}
