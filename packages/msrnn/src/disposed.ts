// The error for using something after its memory was given back (a disposed model or state):
// its arrays may already hold another owner's data, so every use is refused instead of computing
// garbage.
export class DisposedError extends Error {
  override name = 'DisposedError';
}
