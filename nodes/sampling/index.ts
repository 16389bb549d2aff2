import type { NodeDef } from '../../engine/graph/node.ts';
import BasicGuider from './BasicGuider.ts';
import BasicScheduler from './BasicScheduler.ts';
import BetaSamplingScheduler from './BetaSamplingScheduler.ts';
import CFGGuider from './CFGGuider.ts';
import DisableNoise from './DisableNoise.ts';
import DualCFGGuider from './DualCFGGuider.ts';
import ExponentialScheduler from './ExponentialScheduler.ts';
import FlipSigmas from './FlipSigmas.ts';
import KSampler from './KSampler.ts';
import KSamplerAdvanced from './KSamplerAdvanced.ts';
import KSamplerSelect from './KSamplerSelect.ts';
import KarrasScheduler from './KarrasScheduler.ts';
import ModelSamplingAuraFlow from './ModelSamplingAuraFlow.ts';
import ModelSamplingDiscrete from './ModelSamplingDiscrete.ts';
import ModelSamplingSD3 from './ModelSamplingSD3.ts';
import PolyexponentialScheduler from './PolyexponentialScheduler.ts';
import RandomNoise from './RandomNoise.ts';
import RescaleCFG from './RescaleCFG.ts';
import SDTurboScheduler from './SDTurboScheduler.ts';
import SamplerCustom from './SamplerCustom.ts';
import SamplerCustomAdvanced from './SamplerCustomAdvanced.ts';
import SamplerDPMPP_2M_SDE from './SamplerDPMPP_2M_SDE.ts';
import SamplerDPMPP_3M_SDE from './SamplerDPMPP_3M_SDE.ts';
import SamplerEulerAncestral from './SamplerEulerAncestral.ts';
import SplitSigmas from './SplitSigmas.ts';
import SplitSigmasDenoise from './SplitSigmasDenoise.ts';
import VPScheduler from './VPScheduler.ts';

export const nodes: NodeDef<any, any>[] = [
  BasicGuider,
  BasicScheduler,
  BetaSamplingScheduler,
  CFGGuider,
  DisableNoise,
  DualCFGGuider,
  ExponentialScheduler,
  FlipSigmas,
  KSampler,
  KSamplerAdvanced,
  KSamplerSelect,
  KarrasScheduler,
  ModelSamplingAuraFlow,
  ModelSamplingDiscrete,
  ModelSamplingSD3,
  PolyexponentialScheduler,
  RandomNoise,
  RescaleCFG,
  SDTurboScheduler,
  SamplerCustom,
  SamplerCustomAdvanced,
  SamplerDPMPP_2M_SDE,
  SamplerDPMPP_3M_SDE,
  SamplerEulerAncestral,
  SplitSigmas,
  SplitSigmasDenoise,
  VPScheduler,
];
