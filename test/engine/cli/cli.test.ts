import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(repo, 'bin/weft.mjs');
const fixture = path.join(repo, 'test/engine/cli/fixture-nodes.ts');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-cli-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function weft(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, WEFT_NODE_MODULES: fixture, WEFT_HOME: '' },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function write(name: string, value: unknown): string {
  fs.writeFileSync(path.join(dir, name), JSON.stringify(value));
  return name;
}

const api = (value: unknown, middle = 'TestCliSteps') => ({
  '1': { class_type: 'TestCliConst', inputs: { value } },
  '2': { class_type: middle, inputs: { value: ['1', 0], ...(middle === 'TestCliSteps' ? { steps: 3 } : {}) } },
  '3': { class_type: 'TestCliSave', inputs: { value: ['2', 0], filename_prefix: 'out' } },
});

test('weft --help exits 0 and lists the commands', () => {
  const r = weft('--help');
  assert.equal(r.code, 0);
  for (const c of ['run', 'validate', 'nodes', 'convert', 'serve']) assert.match(r.stdout, new RegExp(`weft ${c}`));
  assert.equal(weft('frobnicate').code, 2);
});

test('weft run: valid API workflow → exit 0, progress on stderr, written files on stdout', () => {
  const r = weft('run', write('ok.json', api(4)));
  assert.equal(r.code, 0, r.stderr);
  const file = path.join(dir, 'output', 'out_8.txt');
  assert.equal(r.stdout.trim(), file);
  assert.equal(fs.readFileSync(file, 'utf8'), '8');
  assert.match(r.stderr, /\[1\/3\] #1 TestCliConst/);
  assert.match(r.stderr, /step 3\/3/);
});

test('weft run --set changes an input; --output picks the folder', () => {
  const r = weft('run', write('set.json', api(4)), '--set', '1.value=21', '--output', 'elsewhere');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(dir, 'elsewhere', 'out_42.txt'), 'utf8'), '42');
  const bad = weft('run', write('set2.json', api(4)), '--set', '99.value=1');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no node 99/);
});

test('weft run: invalid workflow → exit 2 with ComfyUI-shaped errors on stdout', () => {
  const r = weft('run', write('bad.json', api(500)));
  assert.equal(r.code, 2);
  const body = JSON.parse(r.stdout);
  assert.equal(body.error.type, 'prompt_outputs_failed_validation');
  assert.equal(body.node_errors['1'].errors[0].type, 'value_bigger_than_max');
  assert.match(r.stderr, /#1 TestCliConst: Value 500 bigger than max of 100/);
  const notJson = weft('run', write('garbage.json', 'nope'));
  assert.equal(notJson.code, 2);
});

test('weft run: a node failing at run time → exit 1 naming the node', () => {
  const r = weft('run', write('fail.json', api(4, 'TestCliFail')));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /node #2 TestCliFail: deliberate failure/);
});

test('weft run accepts the UI workflow format', () => {
  const ui = {
    last_node_id: 2,
    last_link_id: 1,
    nodes: [
      { id: 1, type: 'TestCliConst', pos: [0, 0], size: [200, 80], flags: {}, order: 0, mode: 0, inputs: [], outputs: [{ name: 'INT', type: 'INT', links: [1], slot_index: 0 }], properties: {}, widgets_values: [7] },
      { id: 2, type: 'TestCliSave', pos: [300, 0], size: [200, 80], flags: {}, order: 1, mode: 0, inputs: [{ name: 'value', type: 'INT', link: 1, widget: { name: 'value' } }], outputs: [], properties: {}, widgets_values: [0, 'ui'] },
    ],
    links: [[1, 1, 0, 2, 0, 'INT']],
    groups: [],
    config: {},
    extra: {},
    version: 0.4,
  };
  const r = weft('run', write('ui.json', ui));
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(fs.readFileSync(path.join(dir, 'output', 'ui_7.txt'), 'utf8'), '7');
});

test('weft validate prints ComfyUI-shaped JSON and exits 0 or 2; unknown types are all listed', () => {
  const ok = weft('validate', write('valid.json', api(4)));
  assert.equal(ok.code, 0);
  assert.deepEqual(JSON.parse(ok.stdout), { error: null, node_errors: {}, outputs: ['3'] });
  const unknown = weft('validate', write('unknown.json', { '1': { class_type: 'NoSuchA', inputs: {} }, '2': { class_type: 'NoSuchB', inputs: {} } }));
  assert.equal(unknown.code, 2);
  const body = JSON.parse(unknown.stdout);
  assert.equal(body.error.type, 'missing_node_type');
  assert.deepEqual(Object.keys(body.node_errors).sort(), ['1', '2']);
});

test('weft nodes prints object_info with built-in and extra nodes', () => {
  const r = weft('nodes');
  assert.equal(r.code, 0);
  const info = JSON.parse(r.stdout);
  assert.deepEqual(info.TestCliConst.input.required.value, ['INT', { default: 1, min: 0, max: 100 }]);
  assert.ok(Object.keys(info).length > 4, 'built-in nodes are registered too');
});

test('weft convert is dispatched to the converter; weft serve checks its flags', () => {
  const r = weft('convert', write('conv.json', api(4)), '--to', 'ui');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Array.isArray(JSON.parse(r.stdout).nodes));
  const bad = weft('serve', '--port', 'abc');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--port must be/);
});
