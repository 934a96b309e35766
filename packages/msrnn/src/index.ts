export { HeadCache, LayerCache, heapAlloc, type F32Alloc, type F32Free } from './cache.js';
export { DisposedError } from './disposed.js';
export { checkCapacity, keepAll, wrapPolicy, type AttentionStep, type Policy, type PositionMode } from './policy.js';
export { MultiState, POSITION_MODES, checkPositionMode, stateBytes, entryBytes, capacityForBytes, MAX_ARRAY_ELEMENTS, type StateGeometry, type StateOptions } from './state.js';
export {
  STATE_MAGIC, STATE_FORMAT_VERSION, StateFileError, decodeState, encodeState, fnv1a, policySpecOf, recordPolicySpec,
  type DecodedState, type ModelFingerprint, type PolicySpec, type SavedHead, type SavedSentinel, type StateHeader,
} from './state-file.js';
export { SentinelCompression, type SentinelCompressionSnapshot, type Span } from './sentinel.js';
