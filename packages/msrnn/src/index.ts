export { HeadCache, LayerCache, heapAlloc, type F32Alloc } from './cache.js';
export { checkCapacity, type AttentionStep, type Policy } from './policy.js';
export { keepAll, slidingWindow, oldestSlot } from './basic-policies.js';
export { MultiState, POSITION_MODES, checkPositionMode, type StateGeometry, type StateOptions, type PositionMode } from './state.js';
