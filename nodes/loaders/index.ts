import type { NodeDef } from '../../engine/graph/node.ts';
import CLIPLoader from './CLIPLoader.ts';
import CLIPVisionLoader from './CLIPVisionLoader.ts';
import CheckpointLoader from './CheckpointLoader.ts';
import CheckpointLoaderSimple from './CheckpointLoaderSimple.ts';
import DualCLIPLoader from './DualCLIPLoader.ts';
import GLIGENLoader from './GLIGENLoader.ts';
import HypernetworkLoader from './HypernetworkLoader.ts';
import StyleModelLoader from './StyleModelLoader.ts';
import TripleCLIPLoader from './TripleCLIPLoader.ts';
import UNETLoader from './UNETLoader.ts';
import VAELoader from './VAELoader.ts';
import unCLIPCheckpointLoader from './unCLIPCheckpointLoader.ts';
import DiffusersLoader from './DiffusersLoader.ts';

export const nodes: NodeDef<any, any>[] = [
  CLIPLoader,
  CLIPVisionLoader,
  CheckpointLoader,
  CheckpointLoaderSimple,
  DualCLIPLoader,
  GLIGENLoader,
  HypernetworkLoader,
  StyleModelLoader,
  TripleCLIPLoader,
  UNETLoader,
  VAELoader,
  unCLIPCheckpointLoader,
  DiffusersLoader,
];
