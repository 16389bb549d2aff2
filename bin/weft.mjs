#!/usr/bin/env node
// Launcher: lets Node run Weft's TypeScript sources directly, then hands over to the composition root.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
