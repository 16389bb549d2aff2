export { validatePrompt, type PromptError, type NodeErrors, type ValidationResult, type ValidateOptions } from './validate.ts';
export { coerceLiteral } from './coerce.ts';
export { asLink, findCycles, compareIds, type ApiPrompt, type ApiNode, type Link } from './prompt.ts';
