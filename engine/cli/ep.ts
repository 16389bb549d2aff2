import { WeftError } from '../errors.ts';
import { EP_NAMES } from '../runtime/providers.ts';
import { flag, type ParsedArgs } from './args.ts';

/** `--ep auto|<provider>`: which execution provider the model runtime uses (auto: GPU if a real one works, else CPU). */
export function epFlag(args: ParsedArgs): string | undefined {
  const ep = flag(args, 'ep');
  if (ep === undefined) return undefined;
  if (ep !== 'auto' && !(EP_NAMES as readonly string[]).includes(ep)) {
    throw new WeftError(`--ep must be auto or one of ${EP_NAMES.join(', ')}, got ${ep}`, { type: 'usage' });
  }
  return ep;
}
