import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Executor } from '../../../engine/execute/executor.ts';
import { OutputCache } from '../../../engine/execute/cache.ts';
import { chain, tempServices, testNodes } from './helpers.ts';

function setup(cache?: OutputCache) {
  const { registry, calls } = testNodes();
  const ex = new Executor({ registry, services: tempServices(), cache });
  const events: [string, unknown][] = [];
  ex.events.onAny((type, data) => events.push([type, data]));
  return { ex, calls, events };
}

test('runs nodes in dependency order and returns the output ui', async () => {
  const { ex, calls } = setup();
  const r = await ex.execute('p1', chain(['10', '5', '1'], 2, 3));
  assert.equal(r.status, 'success');
  assert.deepEqual(calls, ['Const:10', 'Add:5', 'Show:1']);
  assert.deepEqual(r.outputs, { '1': { values: [5] } });
  assert.deepEqual(r.meta['1'], { node_id: '1', display_node: '1', parent_node: null, real_node_id: '1' });
});

test('events come in ComfyUI order with ComfyUI payloads', async () => {
  const { ex, events } = setup();
  await ex.execute('p1', chain());
  assert.deepEqual(
    events.map((e) => e[0]),
    ['execution_start', 'execution_cached', 'executing', 'executing', 'executing', 'executed', 'execution_success'],
  );
  assert.deepEqual(events[2][1], { node: '1', display_node: '1', prompt_id: 'p1' });
  assert.deepEqual(events[5][1], { node: '3', display_node: '3', output: { values: [11] }, prompt_id: 'p1' });
  assert.deepEqual((events[1][1] as { nodes: string[] }).nodes, []);
});

test('changing one widget re-runs only the downstream nodes; cached outputs still report executed', async () => {
  const { ex, calls, events } = setup();
  await ex.execute('a', chain(['1', '2', '3'], 1, 10));
  calls.length = 0;
  const same = await ex.execute('b', chain(['1', '2', '3'], 1, 10));
  assert.deepEqual(calls, []);
  assert.deepEqual(same.cached.sort(), ['1', '2', '3']);
  assert.deepEqual(same.outputs, { '3': { values: [11] } });
  assert.ok(events.some(([t, d]) => t === 'executed' && (d as { prompt_id: string }).prompt_id === 'b'));
  const changed = await ex.execute('c', chain(['1', '2', '3'], 1, 20));
  assert.deepEqual(calls, ['Add:2', 'Show:3']);
  assert.deepEqual(changed.outputs, { '3': { values: [21] } });
  assert.deepEqual(changed.cached, ['1']);
});

test('renumbered node ids still hit the cache', async () => {
  const { ex, calls } = setup();
  await ex.execute('a', chain(['1', '2', '3']));
  calls.length = 0;
  const r = await ex.execute('b', chain(['70', '80', '90']));
  assert.deepEqual(calls, []);
  assert.deepEqual(r.outputs, { '90': { values: [11] } });
});

test('force re-runs everything', async () => {
  const { ex, calls } = setup();
  await ex.execute('a', chain());
  calls.length = 0;
  await ex.execute('b', chain(), { force: true });
  assert.deepEqual(calls, ['Const:1', 'Add:2', 'Show:3']);
});

test('isChanged NaN always re-runs the node and its descendants', async () => {
  const { ex, calls } = setup();
  const prompt = { '1': { class_type: 'Volatile', inputs: { value: 4 } }, '2': { class_type: 'Show', inputs: { value: ['1', 0] } } };
  await ex.execute('a', prompt);
  await ex.execute('b', prompt);
  assert.deepEqual(calls, ['Volatile:1', 'Show:2', 'Volatile:1', 'Show:2']);
});

test('only what the outputs need runs; outputs option restricts them', async () => {
  const { ex, calls } = setup();
  const prompt = { ...chain(['1', '2', '3']), '7': { class_type: 'Const', inputs: { value: 9 } }, '8': { class_type: 'Show', inputs: { value: ['1', 0] } } };
  await ex.execute('a', prompt, { outputs: ['8'] });
  assert.deepEqual(calls, ['Const:1', 'Show:8']);
});

test('a failing node stops the run naming node and class; independent results stay cached; nothing half-done is cached', async () => {
  const { ex, calls, events } = setup();
  const prompt = {
    ...chain(['1', '2', '3']),
    '4': { class_type: 'Fail', inputs: { a: ['1', 0] } },
    '5': { class_type: 'Show', inputs: { value: ['4', 0] } },
  };
  const r = await ex.execute('a', prompt, { outputs: ['3', '5'] });
  assert.equal(r.status, 'error');
  assert.equal(r.error?.node_id, '4');
  assert.equal(r.error?.node_type, 'Fail');
  assert.equal(r.error?.exception_message, 'boom on 1');
  assert.deepEqual(r.error?.current_inputs, { a: [1] });
  assert.ok(Array.isArray(r.error?.traceback));
  assert.equal(events.at(-1)?.[0], 'execution_error');
  assert.deepEqual(r.messages.map((m) => m[0]), ['execution_start', 'execution_cached', 'execution_error']);
  calls.length = 0;
  const again = await ex.execute('b', prompt, { outputs: ['3', '5'] });
  assert.deepEqual(calls, ['Fail:4'], 'the chain to 3 stayed cached, the failed node runs again');
  assert.equal(again.status, 'error');
});

test('interrupt stops a looping node within one step and reports execution_interrupted', async () => {
  const { ex, events } = setup();
  const ac = new AbortController();
  let steps = 0;
  ex.on('progress', (d) => {
    steps = d.value;
    if (d.value === 3) ac.abort();
  });
  const r = await ex.execute('p', { '1': { class_type: 'Loop', inputs: { steps: 1000 } }, '2': { class_type: 'Show', inputs: { value: ['1', 0] } } }, { signal: ac.signal });
  assert.equal(r.status, 'interrupted');
  assert.equal(steps, 3);
  const last = events.at(-1)!;
  assert.equal(last[0], 'execution_interrupted');
  assert.deepEqual({ ...(last[1] as Record<string, unknown>), timestamp: 0 }, { prompt_id: 'p', node_id: '1', node_type: 'Loop', executed: [], timestamp: 0 });
});

test('list outputs: the consumer runs once per element and ui lists are concatenated', async () => {
  const { ex, calls } = setup();
  const r = await ex.execute('p', {
    '1': { class_type: 'Range', inputs: { n: 3 } },
    '2': { class_type: 'Add', inputs: { a: ['1', 0], b: 100 } },
    '3': { class_type: 'Show', inputs: { value: ['2', 0] } },
  });
  assert.equal(r.status, 'success');
  assert.deepEqual(r.outputs['3'], { values: [100, 101, 102] });
  assert.deepEqual(calls, ['Range:1', 'Add:2', 'Add:2', 'Add:2', 'Show:3', 'Show:3', 'Show:3']);
});

test('the cache survives across prompts and is bounded by entries (LRU)', async () => {
  const cache = new OutputCache({ maxEntries: 3 });
  const { ex, calls } = setup(cache);
  await ex.execute('a', chain(['1', '2', '3'], 1));
  await ex.execute('b', chain(['1', '2', '3'], 2));
  assert.equal(cache.size, 3);
  calls.length = 0;
  await ex.execute('c', chain(['1', '2', '3'], 1));
  assert.deepEqual(calls, ['Const:1', 'Add:2', 'Show:3'], 'the first prompt was evicted');
  cache.clear();
  assert.equal(cache.size, 0);
});

test('the cache is bounded by bytes, evicting least recently used first, keeping the newest', () => {
  const cache = new OutputCache({ maxBytes: 2.5 * 1024 });
  const img = (kb: number) => ({ outputs: [[{ shape: [kb * 256], data: new Float32Array(kb * 256) }]] });
  cache.set('a', img(1));
  cache.set('b', img(1));
  cache.get('a');
  cache.set('c', img(1));
  assert.deepEqual([cache.has('a'), cache.has('b'), cache.has('c')], [true, false, true], 'b was least recently used');
  assert.ok(cache.bytes <= cache.maxBytes);
  cache.set('d', img(4));
  assert.deepEqual([cache.has('a'), cache.has('c'), cache.has('d')], [false, false, true], 'an entry over budget alone is still kept');
  assert.equal(cache.size, 1);
  cache.delete('d');
  assert.equal(cache.bytes, 0);
});

test('results shared by two consumers count their buffer once', async () => {
  const { estimateBytes } = await import('../../../engine/execute/cache.ts');
  const data = new Float32Array(1000);
  const one = estimateBytes({ outputs: [[{ shape: [1000], data }]] });
  const two = estimateBytes({ outputs: [[{ shape: [1000], data }], [{ shape: [1000], data }]] });
  assert.ok(one >= 4000 && two - one < 200, `${one} ${two}`);
});
