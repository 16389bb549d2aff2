import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { uiToApi } from '../../../engine/workflow/convert.ts';
import { jsonEqual, parseJson, stringifyJson } from '../../../engine/workflow/json.ts';
import { loadWorkflowFile } from '../../../engine/workflow/metadata.ts';
import { parseUiWorkflow, serializeUiWorkflow } from '../../../engine/workflow/ui.ts';
import { testRegistry } from './registry-fixture.ts';

const shared = resolve(import.meta.dirname, '../../../../shared/comfy-examples');
const skip = existsSync(shared) ? false : `${shared} not found`;
const wfDir = join(shared, 'workflows');
const pairs = existsSync(wfDir) ? readdirSync(wfDir).filter((f) => f.endsWith('.workflow.json')).sort() : [];

/** ComfyUI adds is_changed when it records a prompt; it is not part of the conversion. */
function withoutIsChanged(p: unknown): unknown {
  const copy = parseJson(stringifyJson(p)) as Record<string, Record<string, unknown>>;
  for (const n of Object.values(copy)) delete n.is_changed;
  return copy;
}

function diff(got: Record<string, unknown>, want: Record<string, unknown>): string {
  const keys = new Set([...Object.keys(got), ...Object.keys(want)]);
  return [...keys].filter((k) => !jsonEqual(got[k], want[k])).map((k) => `${k}: got ${stringifyJson(got[k])} want ${stringifyJson(want[k])}`).join('\n');
}

test('every shared example workflow converts to the prompt ComfyUI produced from it', { skip }, () => {
  assert.ok(pairs.length >= 10, `expected the example pairs in ${wfDir}`);
  const registry = testRegistry();
  for (const f of pairs) {
    const wf = parseUiWorkflow(readFileSync(join(wfDir, f), 'utf8'), f);
    const want = withoutIsChanged(parseJson(readFileSync(join(wfDir, f.replace('.workflow.json', '.prompt.json')), 'utf8'))) as Record<string, unknown>;
    // These prompts were recorded without _meta (older frontend).
    const got = uiToApi(wf, registry, { meta: false, random: () => 0 }) as Record<string, unknown>;
    assert.ok(jsonEqual(got, want), `${f}:\n${diff(got, want)}`);
  }
});

test('with _meta on, every emitted node carries its title', { skip }, () => {
  const wf = parseUiWorkflow(readFileSync(join(wfDir, 'lora__lora.workflow.json'), 'utf8'));
  const got = uiToApi(wf, testRegistry());
  assert.equal(got['3']!._meta?.title, 'KSampler');
  assert.equal(got['4']!._meta?.title, 'Load Checkpoint');
  assert.equal(got['10']!._meta?.title, 'Load LoRA');
});

test('UI parse → serialize is lossless for every shared workflow', { skip }, () => {
  for (const f of pairs) {
    const text = readFileSync(join(wfDir, f), 'utf8');
    const again = serializeUiWorkflow(parseUiWorkflow(text, f));
    assert.deepEqual(JSON.parse(again), JSON.parse(text), f);
  }
});

test('the shared PNGs yield their workflow and prompt, and the workflow converts to the prompt', { skip }, async () => {
  const pngDir = join(shared, 'png');
  const pngs = readdirSync(pngDir).filter((f) => f.endsWith('.png'));
  assert.ok(pngs.length >= 2);
  for (const f of pngs) {
    const loaded = await loadWorkflowFile(join(pngDir, f));
    assert.equal(loaded.source, 'png');
    assert.ok(loaded.ui && loaded.api, `${f} should carry both workflow and prompt`);
    assert.ok(loaded.ui.nodes.length > 0);
    const got = uiToApi(loaded.ui, testRegistry(), { meta: false }) as Record<string, unknown>;
    const want = withoutIsChanged(loaded.api) as Record<string, unknown>;
    assert.ok(jsonEqual(got, want), `${f}:\n${diff(got, want)}`);
  }
});
