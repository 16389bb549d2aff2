/**
 * diffusers-format models read in place: renamed weight sources (LDM names over the diffusers files'
 * own bytes) and the pipeline-folder loader behind DiffusersLoader.
 */
export { RenamedSource, diffusersUNetSource, diffusersVaeSource, isDiffusersUNet, type ClosableSource } from './source.ts';
export { loadDiffusersFolder, componentFile, headsFromUNetConfig, WEIGHT_NAMES, type DiffusersOptions, type DiffusersFiles, type LoadedDiffusers, type DiffusersUNetSource } from './folder.ts';
export { diffusersNames, keyRenamer, layoutFromDiffusers, layoutFromLdm, modulePairs, type UNetLayout, type ModulePair } from './unet-keys.ts';
export { ldmVaeKey, diffusersVaeKey, vaeLdmShape, vaeUpLevels } from './vae-keys.ts';
export { listDiffusersFolders, resolveDiffusersFolder } from './list.ts';
