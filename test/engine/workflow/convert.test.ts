import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineNode } from '../../../engine/graph/node.ts';
import { WeftError } from '../../../engine/errors.ts';
import { uiToApi } from '../../../engine/workflow/convert.ts';
import { parseJson, stringifyJson } from '../../../engine/workflow/json.ts';
import { parseUiWorkflow, serializeUiWorkflow, type UiWorkflow } from '../../../engine/workflow/ui.ts';
import { ckpt, encode, graph, inp, ksampler, latent, n, outp } from './fixtures.ts';
import { testRegistry } from './registry-fixture.ts';

const registry = testRegistry();
// A schema-only node with an INT output, to feed converted widget inputs from a real socket.
registry.register(defineNode({ name: 'TestIntSource', category: 'test', inputs: {}, outputs: [{ type: 'INT' }] }));

const api = (wf: UiWorkflow, random = () => 0) => uiToApi(wf, registry, { random, now: new Date(2024, 2, 5, 7, 8, 9) });

test('a bypassed node is rewired: same slot first, then exact type; unmatched outputs are dropped', () => {
  const lora = n(2, 'LoraLoader', {
    mode: 4,
    inputs: [inp('model', 'MODEL', 1), inp('clip', 'CLIP', 2)],
    outputs: [outp('MODEL', 'MODEL'), outp('CLIP', 'CLIP')],
    widgets_values: ['l.safetensors', 1, 1],
  });
  const up = n(6, 'ImageUpscaleWithModel', { mode: 4, inputs: [inp('upscale_model', 'UPSCALE_MODEL', null), inp('image', 'IMAGE', 7)], outputs: [outp('IMAGE', 'IMAGE')] });
  const dec = n(8, 'VAEDecode', { inputs: [inp('samples', 'LATENT', 5), inp('vae', 'VAE', 6)], outputs: [outp('IMAGE', 'IMAGE')] });
  const bypassedDecode = n(9, 'VAEDecode', { mode: 4, inputs: [inp('samples', 'LATENT', 9), inp('vae', 'VAE', 10)], outputs: [outp('IMAGE', 'IMAGE')] });
  const save = n(10, 'SaveImage', { inputs: [inp('images', 'IMAGE', 8)], widgets_values: ['x'] });
  const save2 = n(11, 'SaveImage', { inputs: [inp('images', 'IMAGE', 11)], widgets_values: ['y'] });
  const wf = graph([ckpt(1), lora, ksampler(3, { model: 3, pos: 4, neg: 4, latent: 12 }), encode(4, 13, 'p'), latent(5), dec, up, save, bypassedDecode, save2], [
    [1, 1, 0, 2, 0, 'MODEL'], [2, 1, 1, 2, 1, 'CLIP'], [3, 2, 0, 3, 0, 'MODEL'], [13, 2, 1, 4, 0, 'CLIP'], [4, 4, 0, 3, 1, 'CONDITIONING'],
    [12, 5, 0, 3, 3, 'LATENT'], [5, 3, 0, 8, 0, 'LATENT'], [6, 1, 2, 8, 1, 'VAE'], [7, 8, 0, 6, 1, 'IMAGE'], [8, 6, 0, 10, 0, 'IMAGE'],
    [9, 3, 0, 9, 0, 'LATENT'], [10, 1, 2, 9, 1, 'VAE'], [11, 9, 0, 11, 0, 'IMAGE'],
  ]);
  const p = api(wf);
  assert.equal(p['2'], undefined);
  assert.deepEqual(p['3']!.inputs.model, ['1', 0]);
  assert.deepEqual(p['4']!.inputs.clip, ['1', 1]);
  // ImageUpscaleWithModel: slot 0 is UPSCALE_MODEL, so the IMAGE output passes its `image` input through.
  assert.deepEqual(p['10']!.inputs.images, ['8', 0]);
  // VAEDecode has no IMAGE input: nothing passes through, the link is dropped.
  assert.equal(p['11']!.inputs.images, undefined);
  assert.equal(p['11']!.inputs.filename_prefix, 'y');
});

test('muted nodes are left out and links into them removed', () => {
  const wf = graph([ckpt(1), ksampler(3, { model: 1 }), n(8, 'VAEDecode', { inputs: [inp('samples', 'LATENT', 2), inp('vae', 'VAE', 3)], outputs: [outp('IMAGE', 'IMAGE')] })], [
    [1, 1, 0, 3, 0, 'MODEL'], [2, 3, 0, 8, 0, 'LATENT'], [3, 1, 2, 8, 1, 'VAE'],
  ]);
  wf.nodes[1]!.mode = 2;
  const p = api(wf);
  assert.deepEqual(Object.keys(p).sort(), ['1', '8']);
  assert.deepEqual(p['8']!.inputs, { vae: ['1', 2] });
});

test('PrimitiveNode values reach every target widget (old converted-widget style), seeds beyond 2^53 stay exact', () => {
  const text = stringifyJson(graph([
    n(20, 'PrimitiveNode', { outputs: [{ name: 'INT', type: 'INT', links: [], widget: { name: 'seed' } }], widgets_values: [18446744073709551615n, 'fixed'] }),
    ksampler(3, {}, [1, 'randomize', 20, 8, 'euler', 'normal', 1], [inp('seed', 'INT', 1, 'seed')]),
    n(4, 'KSamplerAdvanced', { inputs: [inp('start_at_step', 'INT', 2, 'start_at_step')], widgets_values: ['enable', 9007199254740993n, 'fixed', 20, 8, 'euler', 'normal', 0, 10000, 'disable'] }),
  ], [[1, 20, 0, 3, 4, 'INT'], [2, 20, 0, 4, 0, 'INT']]));
  const wf = parseUiWorkflow(text);
  const p = api(wf);
  assert.equal(p['20'], undefined);
  assert.equal(p['3']!.inputs.seed, 18446744073709551615n);
  assert.equal(p['4']!.inputs.start_at_step, 18446744073709551615n);
  assert.equal(p['4']!.inputs.noise_seed, 9007199254740993n);
  assert.match(stringifyJson(p), /"seed":18446744073709551615\b/);
  assert.match(stringifyJson(p), /"noise_seed":9007199254740993\b/);
});

test('legacy Reroute nodes and native reroutes resolve to the real origin', () => {
  const rr = (id: number, link: number) => n(id, 'Reroute', { inputs: [inp('', '*', link)], outputs: [outp('', 'VAE')] });
  const dec = n(8, 'VAEDecode', { inputs: [inp('samples', 'LATENT', 4), inp('vae', 'VAE', 3)], outputs: [outp('IMAGE', 'IMAGE')] });
  const wf = graph([ckpt(1), rr(30, 1), rr(31, 2), dec, latent(5)], [[1, 1, 2, 30, 0, '*'], [2, 30, 0, 31, 0, 'VAE'], [3, 31, 0, 8, 1, 'VAE'], [4, 5, 0, 8, 0, 'LATENT']], {
    extra: { reroutes: [{ id: 1, pos: [10, 10], linkIds: [4] }], linkExtensions: [{ id: 4, parentId: 1 }] },
  });
  const p = api(wf);
  assert.deepEqual(p['8']!.inputs, { samples: ['5', 0], vae: ['1', 2] });
  assert.deepEqual(Object.keys(p).sort(), ['1', '5', '8']);
  assert.deepEqual(JSON.parse(serializeUiWorkflow(parseUiWorkflow(JSON.stringify(wf)))).extra, wf.extra);
});

test('version 1 workflows (object links, state, top-level reroutes) convert like 0.4', () => {
  const v04 = graph([ckpt(1), encode(6, 1, 'cat'), ksampler(3, { model: 2, pos: 3, neg: 3, latent: 4 }), latent(5)], [
    [1, 1, 1, 6, 0, 'CLIP'], [2, 1, 0, 3, 0, 'MODEL'], [3, 6, 0, 3, 1, 'CONDITIONING'], [4, 5, 0, 3, 3, 'LATENT'],
  ]);
  const v1: UiWorkflow = {
    ...v04, version: 1, state: { lastNodeId: 6, lastLinkId: 4, lastGroupId: 0, lastRerouteId: 1 },
    reroutes: [{ id: 1, pos: [0, 0], linkIds: [2] }],
    links: (v04.links as number[][]).map((l) => ({ id: l[0], origin_id: l[1], origin_slot: l[2], target_id: l[3], target_slot: l[4], type: l[5], ...(l[0] === 2 ? { parentId: 1 } : {}) })) as never,
  };
  assert.deepEqual(api(v1), api(v04));
  assert.deepEqual(api(v1)['3']!.inputs.negative, ['6', 0]);
});

test('subgraphs flatten with a:b ids, nested ones with a:b:c, promoted widgets carry their values', () => {
  const inner = {
    id: 'bbbbbbbb-0000-0000-0000-000000000002', name: 'Encode', version: 1,
    inputs: [{ id: 'i1', name: 'clip', type: 'CLIP', linkIds: [1] }, { id: 'i2', name: 'text', type: 'STRING', linkIds: [2] }],
    outputs: [{ id: 'o1', name: 'CONDITIONING', type: 'CONDITIONING', linkIds: [3] }],
    nodes: [encode(3, 1, 'inner default', [inp('text', 'STRING', 2, 'text')])],
    links: [
      { id: 1, origin_id: -10, origin_slot: 0, target_id: 3, target_slot: 0, type: 'CLIP' },
      { id: 2, origin_id: -10, origin_slot: 1, target_id: 3, target_slot: 1, type: 'STRING' },
      { id: 3, origin_id: 3, origin_slot: 0, target_id: -20, target_slot: 0, type: 'CONDITIONING' },
    ],
  };
  const outer = {
    id: 'aaaaaaaa-0000-0000-0000-000000000001', name: 'Prompt', version: 1,
    inputs: [{ id: 'j1', name: 'clip', type: 'CLIP', linkIds: [1] }],
    outputs: [{ id: 'p1', name: 'CONDITIONING', type: 'CONDITIONING', linkIds: [2] }],
    nodes: [
      n(2, inner.id, { inputs: [inp('clip', 'CLIP', 1), inp('text', 'STRING', null, 'text')], outputs: [outp('CONDITIONING', 'CONDITIONING', [2])], widgets_values: ['a cat'] }),
      n(4, 'CLIPSetLastLayer', { inputs: [inp('clip', 'CLIP', null)], outputs: [outp('CLIP', 'CLIP')], widgets_values: [-2] }),
    ],
    links: [
      { id: 1, origin_id: -10, origin_slot: 0, target_id: 2, target_slot: 0, type: 'CLIP' },
      { id: 2, origin_id: 2, origin_slot: 0, target_id: -20, target_slot: 0, type: 'CONDITIONING' },
    ],
  };
  const wf = graph([ckpt(1), n(5, outer.id, { inputs: [inp('clip', 'CLIP', 1)], outputs: [outp('CONDITIONING', 'CONDITIONING')] }), ksampler(3, { model: 3, pos: 2, neg: 2 })], [
    [1, 1, 1, 5, 0, 'CLIP'], [2, 5, 0, 3, 1, 'CONDITIONING'], [3, 1, 0, 3, 0, 'MODEL'],
  ], { definitions: { subgraphs: [outer, inner] as never } });
  const p = api(wf);
  assert.deepEqual(Object.keys(p).sort(), ['1', '3', '5:2:3', '5:4']);
  assert.deepEqual(p['5:2:3'], { inputs: { text: 'a cat', clip: ['1', 1] }, class_type: 'CLIPTextEncode', _meta: { title: 'CLIP Text Encode (Prompt)' } });
  assert.deepEqual(p['3']!.inputs.positive, ['5:2:3', 0]);
  assert.deepEqual(p['5:4']!.inputs, { stop_at_clip_layer: -2 });
});

test('frontend ≥1.16 widget sockets: unlinked ones keep widget values, linked ones win', () => {
  const k = ksampler(3, {}, [5, 'fixed', 20, 8, 'euler', 'normal', 1], [
    inp('seed', 'INT', null, 'seed'), inp('steps', 'INT', 1, 'steps'), inp('cfg', 'FLOAT', null, 'cfg'),
  ]);
  const wf = graph([n(9, 'TestIntSource', { outputs: [outp('INT', 'INT')] }), k], [[1, 9, 0, 3, 5, 'INT']], { extra: { frontendVersion: '1.20.0' } });
  const p = api(wf);
  assert.deepEqual(p['3']!.inputs, { seed: 5, steps: ['9', 0], cfg: 8, sampler_name: 'euler', scheduler: 'normal', denoise: 1 });
});

test('widgets_values: object form, legacy true control, files without control values, trailing extras', () => {
  const byName = api(graph([ksampler(3, {}, { seed: 11, steps: 4, cfg: 2, sampler_name: 'lcm', scheduler: 'simple', denoise: 0.5, extra: 1 })], []));
  assert.deepEqual(byName['3']!.inputs, { seed: 11, steps: 4, cfg: 2, sampler_name: 'lcm', scheduler: 'simple', denoise: 0.5 });
  const legacy = api(graph([ksampler(3, {}, [12, true, 30, 6, 'heun', 'karras', 0.7])], []));
  assert.deepEqual(legacy['3']!.inputs, { seed: 12, steps: 30, cfg: 6, sampler_name: 'heun', scheduler: 'karras', denoise: 0.7 });
  const noControl = api(graph([ksampler(3, {}, [13, 25, 5, 'ddim', 'normal', 1])], []));
  assert.deepEqual(noControl['3']!.inputs, { seed: 13, steps: 25, cfg: 5, sampler_name: 'ddim', scheduler: 'normal', denoise: 1 });
  const load = n(7, 'LoadImage', { outputs: [outp('IMAGE', 'IMAGE'), outp('MASK', 'MASK')], widgets_values: ['cat.png', 'image'] });
  assert.deepEqual(api(graph([load], []))['7']!.inputs, { image: 'cat.png', 'choose file to upload': 'image' });
  assert.deepEqual(api(graph([load], [], { extra: { frontendVersion: '1.30.0' } }))['7']!.inputs, { image: 'cat.png' });
});

test('dynamic prompts and filename_prefix tokens are processed where the frontend does it', () => {
  const save = n(9, 'SaveImage', { inputs: [inp('images', 'IMAGE', null)], widgets_values: ['%date:yyyy-MM-dd%/%Empty Latent Image.width%_%width%'] });
  const wf = graph([encode(6, null, 'a {red|{dark|light} blue} car // note\n/* x */photo'), latent(5), save], []);
  assert.equal(api(wf, () => 0)['6']!.inputs.text, 'a red car \nphoto');
  assert.equal(api(wf, () => 0.99)['6']!.inputs.text, 'a light blue car \nphoto');
  assert.equal(api(wf)['9']!.inputs.filename_prefix, '2024-03-05/512_%width%');
});

test('unknown node types: one error naming every missing type', () => {
  const wf = graph([ckpt(1), n(2, 'FancyUpscaler'), n(3, 'FancyUpscaler'), n(4, 'MagicNode'), n(5, 'Note', { widgets_values: ['hi'] }), n(6, 'GoneNode', { mode: 2 })], []);
  assert.throws(() => api(wf), (e: unknown) => {
    assert.ok(e instanceof WeftError);
    assert.equal(e.type, 'missing_node_type');
    assert.deepEqual(e.extra?.missing, ['FancyUpscaler', 'MagicNode']);
    assert.match(e.message, /FancyUpscaler \(nodes 2, 3\)/);
    assert.match(e.message, /MagicNode \(node 4\)/);
    return true;
  });
});

test('literal arrays are wrapped as __value__ and survive JSON round trips', () => {
  const wf = graph([ksampler(3, {}, { seed: [1, 2], steps: 1, cfg: 1, sampler_name: 'euler', scheduler: 'normal', denoise: 1 })], []);
  const p = api(wf);
  assert.deepEqual(p['3']!.inputs.seed, { __value__: [1, 2] });
  assert.deepEqual(parseJson(stringifyJson(p)), p);
});
