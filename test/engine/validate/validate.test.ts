import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineNode } from '../../../engine/graph/node.ts';
import { NodeRegistry } from '../../../engine/graph/registry.ts';
import { validatePrompt } from '../../../engine/validate/index.ts';

const Num = defineNode({
  name: 'Num',
  category: 'test',
  inputs: { required: { value: { type: 'INT', default: 0, min: -10, max: 10 } } },
  outputs: [{ type: 'INT' }],
  run: ({ value }) => [value],
});
const Mix = defineNode({
  name: 'Mix',
  category: 'test',
  inputs: {
    required: { a: { type: 'INT' }, ratio: { type: 'FLOAT', default: 0.5, min: 0, max: 1 } },
    optional: { label: { type: 'STRING' }, flag: { type: 'BOOLEAN' } },
  },
  outputs: [{ type: 'INT' }],
  run: ({ a }) => [a],
});
const Pick = defineNode({
  name: 'Pick',
  category: 'test',
  inputs: { required: { choice: { type: 'COMBO', options: ['red', 'green', 'blue'] } } },
  outputs: [{ type: 'STRING' }],
  run: ({ choice }) => [choice],
});
const Many = defineNode({
  name: 'Many',
  category: 'test',
  inputs: { required: { choice: { type: 'COMBO', options: Array.from({ length: 25 }, (_, i) => `opt${i}`) } } },
  outputs: [{ type: 'STRING' }],
  run: ({ choice }) => [choice],
});
const Seed = defineNode({
  name: 'Seed',
  category: 'test',
  inputs: { required: { seed: { type: 'INT', big: true, min: 0, max: 18446744073709551615n } } },
  outputs: [{ type: 'INT' }],
  run: ({ seed }) => [Number(seed)],
});
const Sink = defineNode({
  name: 'Sink',
  category: 'test',
  inputs: { required: { x: { type: 'INT' } } },
  outputs: [],
  outputNode: true,
  run: () => ({ ui: {} }),
});
const TextSink = defineNode({
  name: 'TextSink',
  category: 'test',
  inputs: { required: { s: { type: 'STRING' } } },
  outputs: [],
  outputNode: true,
  run: () => ({ ui: {} }),
});
const Checked = defineNode({
  name: 'Checked',
  category: 'test',
  inputs: { required: { file: { type: 'COMBO', options: ['a.png'] } } },
  outputs: [{ type: 'STRING' }],
  validates: ['file'],
  validate: (inputs) => (String(inputs.file).endsWith('.png') ? true : `Invalid image file: ${inputs.file}`),
  run: ({ file }) => [file],
});
const Later = defineNode({ name: 'Later', category: 'test', inputs: {}, outputs: [{ type: 'INT' }] });

const reg = new NodeRegistry().register(Num, Mix, Pick, Many, Seed, Sink, TextSink, Checked, Later);

test('a valid prompt passes, coerces literals and lists its outputs', async () => {
  const r = await validatePrompt(
    { '1': { class_type: 'Num', inputs: { value: '7' } }, '2': { class_type: 'Mix', inputs: { a: ['1', 0], ratio: '0.25', flag: 'false', label: 3 } }, '3': { class_type: 'Sink', inputs: { x: ['2', 0] } } },
    reg,
  );
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.outputs, ['3']);
  assert.deepEqual(r.node_errors, {});
  assert.equal(r.prompt['1'].inputs.value, 7);
  assert.deepEqual(r.prompt['2'].inputs, { a: ['1', 0], ratio: 0.25, flag: false, label: '3' });
});

test('all unknown node types are listed at once', async () => {
  const r = await validatePrompt({ '1': { class_type: 'Nope', inputs: {} }, '2': { class_type: 'AlsoNope', inputs: {} }, '3': { class_type: 'Sink', inputs: { x: 1 } } }, reg);
  assert.equal(r.ok, false);
  assert.equal(r.error?.type, 'missing_node_type');
  assert.match(r.error!.message, /Nope, AlsoNope/);
  assert.deepEqual(Object.keys(r.node_errors).sort(), ['1', '2']);
});

test('no output node → prompt_no_outputs', async () => {
  const r = await validatePrompt({ '1': { class_type: 'Num', inputs: { value: 1 } } }, reg);
  assert.equal(r.error?.type, 'prompt_no_outputs');
});

async function errorsOf(prompt: Record<string, unknown>, id: string) {
  const r = await validatePrompt(prompt, reg);
  assert.equal(r.ok, false);
  assert.equal(r.error?.type, 'prompt_outputs_failed_validation');
  const ne = r.node_errors[id];
  assert.ok(ne, `node ${id} listed in ${JSON.stringify(r.node_errors)}`);
  for (const e of ne.errors) assert.deepEqual(Object.keys(e).sort(), ['details', 'extra_info', 'message', 'type']);
  return ne;
}

test('each per-input error kind has ComfyUI type and fields', async () => {
  let ne = await errorsOf({ '9': { class_type: 'Sink', inputs: {} } }, '9');
  assert.equal(ne.errors[0].type, 'required_input_missing');
  assert.equal(ne.class_type, 'Sink');
  assert.deepEqual(ne.dependent_outputs, ['9']);

  ne = await errorsOf({ '9': { class_type: 'Sink', inputs: { x: ['1'] } } }, '9');
  assert.equal(ne.errors[0].type, 'bad_linked_input');
  ne = await errorsOf({ '9': { class_type: 'Sink', inputs: { x: ['5', 0] } } }, '9');
  assert.equal(ne.errors[0].type, 'bad_linked_input');
  assert.match(ne.errors[0].details, /node 5 is not in the prompt/);
  ne = await errorsOf({ '1': { class_type: 'Num', inputs: { value: 1 } }, '9': { class_type: 'Sink', inputs: { x: ['1', 3] } } }, '9');
  assert.match(ne.errors[0].details, /slot 3/);

  ne = await errorsOf({ '1': { class_type: 'Pick', inputs: { choice: 'red' } }, '9': { class_type: 'Sink', inputs: { x: ['1', 0] } } }, '9');
  assert.equal(ne.errors[0].type, 'return_type_mismatch');
  assert.match(ne.errors[0].details, /received_type\(STRING\) mismatch input_type\(INT\)/);

  ne = await errorsOf({ '1': { class_type: 'Num', inputs: { value: 'abc' } }, '9': { class_type: 'Sink', inputs: { x: ['1', 0] } } }, '1');
  assert.equal(ne.errors[0].type, 'invalid_input_type');
  assert.equal(ne.errors[0].extra_info.input_name, 'value');

  ne = await errorsOf({ '1': { class_type: 'Num', inputs: { value: -11 } }, '9': { class_type: 'Sink', inputs: { x: ['1', 0] } } }, '1');
  assert.equal(ne.errors[0].type, 'value_smaller_than_min');
  ne = await errorsOf({ '1': { class_type: 'Num', inputs: { value: 11 } }, '9': { class_type: 'Sink', inputs: { x: ['1', 0] } } }, '1');
  assert.equal(ne.errors[0].type, 'value_bigger_than_max');
  assert.equal(ne.errors[0].message, 'Value 11 bigger than max of 10');

  ne = await errorsOf({ '1': { class_type: 'Pick', inputs: { choice: 'pink' } }, '9': { class_type: 'TextSink', inputs: { s: ['1', 0] } } }, '1');
  assert.equal(ne.errors[0].type, 'value_not_in_list');
  assert.equal(ne.errors[0].details, "choice: 'pink' not in ['red', 'green', 'blue']");
  ne = await errorsOf({ '1': { class_type: 'Many', inputs: { choice: 'x' } }, '9': { class_type: 'TextSink', inputs: { s: ['1', 0] } } }, '1');
  assert.equal(ne.errors[0].details, "choice: 'x' not in (list of length 25)");
  assert.equal(ne.errors[0].extra_info.input_config, null);
});

test('a node without run is refused as not implemented yet', async () => {
  const ne = await errorsOf({ '1': { class_type: 'Later', inputs: {} }, '9': { class_type: 'Sink', inputs: { x: ['1', 0] } } }, '1');
  assert.equal(ne.errors[0].type, 'node_not_implemented');
  assert.match(ne.errors[0].message, /Later is not implemented yet in Weft/);
});

test('validate hooks run and inputs they declare skip the built-in combo check', async () => {
  const ok = await validatePrompt({ '1': { class_type: 'Checked', inputs: { file: 'uploaded.png' } }, '9': { class_type: 'TextSink', inputs: { s: ['1', 0] } } }, reg);
  assert.equal(ok.ok, true, JSON.stringify(ok.node_errors));
  const ne = await errorsOf({ '1': { class_type: 'Checked', inputs: { file: 'x.txt' } }, '9': { class_type: 'TextSink', inputs: { s: ['1', 0] } } }, '1');
  assert.equal(ne.errors[0].type, 'custom_validation_failed');
  assert.match(ne.errors[0].details, /Invalid image file: x.txt/);
});

test('cycles are detected and their members named', async () => {
  const r = await validatePrompt(
    { '1': { class_type: 'Mix', inputs: { a: ['2', 0], ratio: 0.5 } }, '2': { class_type: 'Mix', inputs: { a: ['1', 0], ratio: 0.5 } }, '9': { class_type: 'Sink', inputs: { x: ['2', 0] } } },
    reg,
  );
  assert.equal(r.ok, false);
  assert.equal(r.node_errors['1'].errors[0].type, 'dependency_cycle');
  assert.deepEqual(r.node_errors['2'].errors[0].extra_info.cycle, ['1', '2']);
  assert.equal(r.node_errors['9'], undefined, 'a node invalid only because of upstream is not listed');
});

test('partial validity: some outputs valid → ok with node_errors for the others', async () => {
  const r = await validatePrompt(
    { '1': { class_type: 'Num', inputs: { value: 1 } }, '2': { class_type: 'Num', inputs: { value: 99 } }, '8': { class_type: 'Sink', inputs: { x: ['1', 0] } }, '9': { class_type: 'Sink', inputs: { x: ['2', 0] } } },
    reg,
  );
  assert.equal(r.ok, true);
  assert.deepEqual(r.outputs, ['8']);
  assert.deepEqual(r.node_errors['2'].dependent_outputs, ['9']);
});

test('nodes no output reaches are not validated; partial targets restrict outputs', async () => {
  const r = await validatePrompt({ '1': { class_type: 'Num', inputs: { value: 99 } }, '8': { class_type: 'Sink', inputs: { x: 2 } } }, reg);
  assert.equal(r.ok, true);
  const r2 = await validatePrompt({ '1': { class_type: 'Num', inputs: { value: 99 } }, '8': { class_type: 'Sink', inputs: { x: ['1', 0] } }, '9': { class_type: 'Sink', inputs: { x: 1 } } }, reg, { outputs: ['9'] });
  assert.equal(r2.ok, true);
  assert.deepEqual(r2.outputs, ['9']);
});

test('big INTs stay exact from bigint, number or string; ordinary INTs are numbers', async () => {
  const prompt = (seed: unknown) => ({ '1': { class_type: 'Seed', inputs: { seed } }, '9': { class_type: 'Sink', inputs: { x: ['1', 0] } } });
  for (const v of [18446744073709551615n, '18446744073709551615']) {
    const r = await validatePrompt(prompt(v), reg);
    assert.equal(r.ok, true);
    assert.equal(r.prompt['1'].inputs.seed, 18446744073709551615n);
  }
  assert.equal((await validatePrompt(prompt(42), reg)).prompt['1'].inputs.seed, 42n);
  const over = await validatePrompt(prompt('18446744073709551616'), reg);
  assert.equal(over.node_errors['1'].errors[0].type, 'value_bigger_than_max');
  const r = await validatePrompt({ '9': { class_type: 'Sink', inputs: { x: 12n } } }, reg);
  assert.equal(r.prompt['9'].inputs.x, 12);
});

test('a widget missing from an older workflow takes its schema default; inputs without one stay required', async () => {
  // Mix.ratio has a default (0.5); Mix.a is a socket-only input; Pick.choice is a combo without a default.
  const ok = await validatePrompt({ '1': { class_type: 'Num', inputs: {} }, '2': { class_type: 'Mix', inputs: { a: ['1', 0] } }, '9': { class_type: 'Sink', inputs: { x: ['2', 0] } } }, reg);
  assert.equal(ok.ok, true, JSON.stringify(ok.node_errors));
  assert.equal(ok.prompt['1']!.inputs.value, 0);
  assert.equal(ok.prompt['2']!.inputs.ratio, 0.5);
  const bad = await validatePrompt({ '1': { class_type: 'Pick', inputs: {} }, '9': { class_type: 'TextSink', inputs: { s: ['1', 0] } } }, reg);
  assert.equal(bad.node_errors['1']!.errors[0]!.type, 'required_input_missing');
});
