import type { AppStore, Settings } from '../store.ts';
import { useStore, type Run } from './use-store.ts';

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
        <input readOnly value={String(server.execution_provider ?? settings.executionProvider)} />
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
      <label class="check">
        <input type="checkbox" checked={settings.showMinimap} onChange={(e) => set({ showMinimap: (e.currentTarget as HTMLInputElement).checked })} />
        Show minimap
      </label>
    </section>
  );
}
