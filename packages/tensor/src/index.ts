// Core entry: no ndarray imports here (they compile code with `new Function`); see ./interop.
export type { Backend } from './backend.js';
export { jsBackend } from './js-backend.js';
