/** Kept so existing imports resolve: detection lives in detect/ (index.ts orchestrates, one file per architecture group). */
export * from './detect/index.ts';
