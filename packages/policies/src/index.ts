// Compression policies that turn the unbounded multi-state into a bounded RNN.
export { Budget, checkRatio, type BudgetOptions } from './budget.js';
export { type Protection } from './evict.js';
export { ScoredPolicy, protectNothing, type BudgetedPolicy, type Scorer } from './scored-policy.js';
export { getPolicy, isPolicyName, policyDescriptions, policyNames, type PolicyName, type PolicyOptions } from './registry.js';
export { uniform } from './hash.js';
