import { WeftError } from '../errors.ts';

export interface ParsedArgs {
  positional: string[];
  /** Repeatable flags collect every value. */
  flags: Map<string, string[]>;
  bools: Set<string>;
}

/**
 * Parses `--name value`, `--name=value` and boolean `--name`. `valued` lists the flags that take
 * a value; anything else starting with -- is a boolean, unknown ones are refused.
 */
export function parseArgs(argv: readonly string[], valued: readonly string[], booleans: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { positional: [], flags: new Map(), bools: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--') || a === '-') {
      if (a.startsWith('-') && a.length > 1 && a !== '-h') throw new WeftError(`unknown option ${a}`, { type: 'usage' });
      if (a === '-h') out.bools.add('help');
      else out.positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (valued.includes(name)) {
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new WeftError(`option --${name} needs a value`, { type: 'usage' });
      const list = out.flags.get(name) ?? [];
      list.push(value);
      out.flags.set(name, list);
    } else if (booleans.includes(name) && eq < 0) out.bools.add(name);
    else throw new WeftError(`unknown option --${name}`, { type: 'usage' });
  }
  return out;
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  const l = args.flags.get(name);
  return l?.[l.length - 1];
}
