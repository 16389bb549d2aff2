import type { AppStore, Settings } from '../store.ts';
import { useStore, type Run } from './use-store.ts';

/** auto's first choice and what it falls back to, e.g. "cuda (auto; then cpu)". */
function providerText(server: Record<string, unknown>): string {
  const ep = server.execution_provider;
  if (typeof ep !== 'string') return 'none (no model runtime)';
  const rest = Array.isArray(server.execution_provider_candidates) ? server.execution_provider_candidates.slice(1) : [];
  return rest.length ? `${ep} (auto; then ${rest.join(', ')})` : `${ep} (auto)`;
}

/** Settings the server reports are shown read-only (it owns them); view settings are editable here. */
export function SettingsPanel({ store, run, server }: { store: AppStore; run: Run; server: Record<string, unknown> }) {
  const settings = useStore(store, (s) => s.settings);
  const set = (patch: Partial<Settings>) => run('settings', patch);
  return (
    <section class="panel settings-panel">
      <h2>Settings</h2>
      <label>
        Models folder
        <input readOnly value={String(server.models_dir ?? settings.modelsDir ?? '')} />
      </label>
      <label>
        Execution provider
        <input readOnly value={providerText(server)} />
      </label>
      <label>
        Cache size (MB)
        <input readOnly value={String(server.cache_size_mb ?? settings.cacheSizeMb)} />
      </label>
      <label>
        Link style
        <select value={settings.linkRenderMode} onChange={(e) => set({ linkRenderMode: (e.currentTarget as HTMLSelectElement).value as Settings['linkRenderMode'] })}>
          <option value="spline">Spline</option>
          <option value="linear">Linear</option>
          <option value="straight">Straight</option>
        </select>
      </label>
      <label>
        Sampler previews
        <select value={settings.previewMethod} onChange={(e) => set({ previewMethod: (e.currentTarget as HTMLSelectElement).value as Settings['previewMethod'] })}>
          <option value="auto">Auto</option>
          <option value="latent2rgb">Latent2RGB (fast)</option>
          <option value="none">None</option>
        </select>
      </label>
      <label class="check">
        <input type="checkbox" checked={settings.showMinimap} onChange={(e) => set({ showMinimap: (e.currentTarget as HTMLInputElement).checked })} />
        Show minimap
      </label>
    </section>
  );
}
