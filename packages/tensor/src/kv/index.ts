export { KV_TYPES, KvRows, checkKvType, kvRowBytes, type KvAlloc, type KvFree, type KvType } from './rows.js';
export { attendHeadKv, attendHeadKvJs, deferAttendHeadKv, runDeferredHeads, kvScores, kvWeightedSum, type KvAttentionKernel } from './attention.js';
export { hasCausalAttention, type CausalAttentionKernel } from './causal.js';
