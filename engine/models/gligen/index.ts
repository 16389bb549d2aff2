export { GligenModel, asGligen, isGligenModel, fuserHeads, MAX_OBJS, POSITION_DIM, type FuserModule } from './file.ts';
export { buildPositionGraph, fourierFrequencies, groundingTokens, positionInputs, type GligenBox } from './position.ts';
export { checkFits, gatedSelfAttention, gligenFeedNames, gligenHook, groundingKeys } from './fuser.ts';
export { appendTextBox, gligenOf, gligenStage, type GligenCond, type TextBox } from './apply.ts';
