/**
 * The application menu as data: each item names a renderer command id (the same ids keybindings
 * use), sent over the contract's `menu:command` event. Accelerators are shown, the renderer handles
 * the keys itself, so browser and desktop behave the same.
 */
export interface MenuItemSpec {
  label?: string;
  command?: string;
  accelerator?: string;
  role?: 'quit' | 'reload' | 'toggleDevTools' | 'togglefullscreen' | 'copy' | 'paste' | 'cut' | 'selectAll' | 'undo' | 'redo';
  type?: 'separator';
  submenu?: MenuItemSpec[];
}

export function menuTemplate(isMac: boolean, devTools: boolean): MenuItemSpec[] {
  const view: MenuItemSpec[] = [
    { label: 'Fit view', command: 'fitView', accelerator: '.' },
    { label: 'History', command: 'panel.queue', accelerator: 'Q' },
    { label: 'Gallery', command: 'panel.gallery' },
    { label: 'Models', command: 'panel.models' },
    { label: 'Settings', command: 'panel.settings', accelerator: 'CmdOrCtrl+,' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
  ];
  if (devTools) view.push({ role: 'reload' }, { role: 'toggleDevTools' });
  // macOS puts Quit under the application's own menu.
  const appMenu: MenuItemSpec[] = isMac ? [{ label: 'Weft', submenu: [{ role: 'quit' }] }] : [];
  return [
    ...appMenu,
    {
      label: 'File',
      submenu: [
        { label: 'Open…', command: 'open', accelerator: 'CmdOrCtrl+O' },
        { label: 'Save…', command: 'save', accelerator: 'CmdOrCtrl+S' },
        { label: 'Export (API format)…', command: 'exportApi' },
        { type: 'separator' },
        { label: 'Open output folder', command: 'reveal.output' },
        ...(isMac ? [] : [{ type: 'separator' as const }, { role: 'quit' as const }]),
      ],
    },
    {
      label: 'Edit',
      submenu: [
        { label: 'Undo', command: 'undo', accelerator: 'CmdOrCtrl+Z' },
        { label: 'Redo', command: 'redo', accelerator: 'CmdOrCtrl+Y' },
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        { role: 'selectAll' },
        { type: 'separator' },
        { label: 'Bypass', command: 'bypass', accelerator: 'CmdOrCtrl+B' },
        { label: 'Mute', command: 'mute', accelerator: 'CmdOrCtrl+M' },
        { label: 'Group', command: 'group', accelerator: 'CmdOrCtrl+G' },
      ],
    },
    { label: 'View', submenu: view },
    {
      label: 'Queue',
      submenu: [
        { label: 'Queue prompt', command: 'queue', accelerator: 'CmdOrCtrl+Enter' },
        { label: 'Interrupt', command: 'interrupt', accelerator: 'CmdOrCtrl+Alt+Enter' },
        { label: 'Clear queue', command: 'clearQueue' },
      ],
    },
  ];
}
