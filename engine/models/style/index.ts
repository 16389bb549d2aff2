export { StyleModel, asStyleModel, styleSpec, buildStyleGraph, type StyleSpec, type StyleModelOptions } from './model.ts';
export { applyStyle, type StrengthType } from './apply.ts';
