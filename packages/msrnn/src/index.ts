export { HeadCache, LayerCache, heapAlloc, type F32Alloc } from './cache.js';
export { checkCapacity, keepAll, wrapPolicy, type AttentionStep, type Policy, type PositionMode } from './policy.js';
export { MultiState, POSITION_MODES, checkPositionMode, stateBytes, MAX_ARRAY_ELEMENTS, type StateGeometry, type StateOptions } from './state.js';
