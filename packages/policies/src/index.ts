// Compression policies that turn the unbounded multi-state into a bounded RNN.
export { Budget, checkRatio, type BudgetOptions } from './budget.js';
export { type Protection } from './evict.js';
export { type PolicyOptions } from './options.js';
export { ScoredPolicy, budgetOf, scored, type BudgetedPolicy, type Scorer } from './scored-policy.js';
export { getPolicy, isPolicyName, policyEntry, policyNames, policyTable, type PolicyEntry } from './registry.js';
export { uniform } from './hash.js';
export { chooseSpans, MAX_SPAN_DEFAULT } from './sentinel.js';
