/**
 * Example workflows for the model add-ons: hypernetworks, a ControlNet Union on SDXL, a LoRA on FLUX, GLIGEN
 * text boxes and an IP-Adapter limited by an attention mask. Appended to the list of scripts/make-workflows.ts.
 */
import { base, empty, fluxSchnell, G, load, MODELS, node, set, type Spec } from './workflow-parts.ts';

export const addonSpecs: Spec[] = [
  { file: 'hypernetwork.json', title: 'Hypernetwork', technique: 'hypernetwork',
    description: 'An A1111-style hypernetwork from models/hypernetworks reshapes the keys and values of every attention layer of the diffusion model (strength 0.8).',
    prompt: {
      ...base(MODELS.sd15, ['4', 0], { model: ['8', 0] }), 4: empty(),
      8: node('HypernetworkLoader', { model: ['1', 0], hypernetwork_name: MODELS.hypernetwork, strength: 0.8 }),
    },
    groups: { ...G, model: ['1', '8'] } },
  { file: 'controlnet-union-sdxl.json', title: 'ControlNet Union (SDXL, canny edges)', technique: 'controlnet',
    description: 'One SDXL ControlNet for many control types: SetUnionControlNetType tells the union model that the control picture is canny edges.',
    prompt: set({
      ...base(MODELS.sdxl, ['4', 0], { steps: 25, scheduler: 'karras', sampler: 'dpmpp_2m' }), 4: empty(1024, 1024),
      8: load('example.png', 'Control picture'), 9: node('Canny', { image: ['8', 0], low_threshold: 0.4, high_threshold: 0.8 }),
      10: node('ControlNetLoader', { control_net_name: MODELS.unionSdxl }),
      12: node('SetUnionControlNetType', { control_net: ['10', 0], type: 'canny/lineart/anime_lineart/mlsd' }),
      11: node('ControlNetApplyAdvanced', { positive: ['2', 0], negative: ['3', 0], control_net: ['12', 0], image: ['9', 0], strength: 0.8, start_percent: 0, end_percent: 1 }),
    }, '5', { positive: ['11', 0], negative: ['11', 1] }),
    groups: { ...G, control: ['8', '9', '10', '11', '12'] } },
  { file: 'flux-lora.json', title: 'LoRA on FLUX', technique: 'lora',
    description: 'FLUX.1 schnell with a FLUX LoRA on the diffusion model (LoraLoaderModelOnly: FLUX LoRAs rarely train the text encoders). Needs the T5 tokenizer in models/text_encoders/t5/.',
    prompt: { ...fluxSchnell(['10', 0]), 10: node('LoraLoaderModelOnly', { model: ['1', 0], lora_name: MODELS.fluxLora, strength_model: 1 }) },
    groups: { ...G, model: ['1', '8', '9', '10'] } },
  { file: 'gligen-textbox.json', title: 'GLIGEN text boxes', technique: 'gligen',
    description: 'GLIGEN places phrases in boxes of the picture: "a red apple" on the left, "a blue vase" on the right, chained onto the positive prompt.',
    prompt: set({
      ...base(MODELS.sd15, ['4', 0], { pos: 'a still life photo of a red apple and a blue vase on a wooden table, soft light' }), 4: empty(),
      8: node('GLIGENLoader', { gligen_name: MODELS.gligen }),
      9: node('GLIGENTextBoxApply', { conditioning_to: ['2', 0], clip: ['1', 1], gligen_textbox_model: ['8', 0], text: 'a red apple', width: 192, height: 192, x: 32, y: 224 }, 'Left box'),
      10: node('GLIGENTextBoxApply', { conditioning_to: ['9', 0], clip: ['1', 1], gligen_textbox_model: ['8', 0], text: 'a blue vase', width: 192, height: 320, x: 288, y: 128 }, 'Right box'),
    }, '5', { positive: ['10', 0] }),
    groups: { ...G, 'text boxes': ['8', '9', '10'] } },
  { file: 'ipadapter-attn-mask.json', title: 'IP-Adapter on half the picture (attention mask)', technique: 'ipadapter',
    description: "The reference picture's style acts only where the attention mask is white: a black SolidMask with a white right half composited in.",
    prompt: set({
      ...base(MODELS.sd15, ['4', 0]), 4: empty(), 8: load('example.png', 'Reference picture'),
      9: node('IPAdapterModelLoader', { ipadapter_file: MODELS.ipAdapter }),
      10: node('CLIPVisionLoader', { clip_name: MODELS.clipVisionH }),
      12: node('SolidMask', { value: 0, width: 512, height: 512 }, 'Whole picture: off'),
      13: node('SolidMask', { value: 1, width: 256, height: 512 }, 'Right half: on'),
      14: node('MaskComposite', { destination: ['12', 0], source: ['13', 0], x: 256, y: 0, operation: 'add' }),
      11: node('IPAdapterAdvanced', {
        model: ['1', 0], ipadapter: ['9', 0], image: ['8', 0], weight: 1, weight_type: 'style transfer', combine_embeds: 'concat',
        start_at: 0, end_at: 1, embeds_scaling: 'V only', clip_vision: ['10', 0], attn_mask: ['14', 0],
      }),
    }, '5', { model: ['11', 0] }),
    groups: { ...G, 'image prompt': ['8', '9', '10', '11'], mask: ['12', '13', '14'] } },
];
