/** Keybindings as data (combo → command id), so menus, shortcuts and tests name commands the same way. */
export interface KeyCombo {
  key: string;
  ctrl?: boolean;
  shift?: boolean;
  alt?: boolean;
}

export interface Binding {
  combo: KeyCombo;
  command: string;
  /** Also fires while typing in a text field (only queueing does, as in ComfyUI). */
  inInputs?: boolean;
}

export const KEYBINDINGS: readonly Binding[] = [
  { combo: { key: 'Enter', ctrl: true }, command: 'queue', inInputs: true },
  { combo: { key: 'Enter', ctrl: true, alt: true }, command: 'interrupt', inInputs: true },
  { combo: { key: 's', ctrl: true }, command: 'save', inInputs: true },
  { combo: { key: 'o', ctrl: true }, command: 'open', inInputs: true },
  { combo: { key: 'z', ctrl: true }, command: 'undo' },
  { combo: { key: 'y', ctrl: true }, command: 'redo' },
  { combo: { key: 'z', ctrl: true, shift: true }, command: 'redo' },
  { combo: { key: 'b', ctrl: true }, command: 'bypass' },
  { combo: { key: 'm', ctrl: true }, command: 'mute' },
  { combo: { key: 'g', ctrl: true }, command: 'group' },
  { combo: { key: '.' }, command: 'fitView' },
  { combo: { key: 'q' }, command: 'panel.queue' },
  { combo: { key: ',', ctrl: true }, command: 'panel.settings' },
];

export interface KeyEventLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/** The command a key event triggers, or null. Cmd counts as Ctrl (macOS). */
export function commandFor(e: KeyEventLike, inTextField: boolean, bindings: readonly Binding[] = KEYBINDINGS): string | null {
  const ctrl = e.ctrlKey || e.metaKey;
  for (const b of bindings) {
    const c = b.combo;
    if (c.key.toLowerCase() !== e.key.toLowerCase()) continue;
    if (Boolean(c.ctrl) !== ctrl || Boolean(c.shift) !== e.shiftKey || Boolean(c.alt) !== e.altKey) continue;
    if (inTextField && !b.inInputs) continue;
    return b.command;
  }
  return null;
}
