// Command-line parsing: flags per command, each problem a usage diagnostic (SEQ200/SEQ201).

import { error, spanOfWhole, type Diagnostic } from '../diagnostics/diagnostic.js';
import { didYouMean } from '../check/suggest.js';

export interface FlagSpec {
  readonly name: string;
  readonly alias?: string;
  readonly takesValue: boolean;
  readonly repeatable?: boolean;
  readonly description: string;
}

export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: Map<string, string[]>;
}

export function parseArgs(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  command: string,
): { args?: ParsedArgs; diagnostics: Diagnostic[] } {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  const diagnostics: Diagnostic[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const [key, inline] =
      arg.includes('=') && arg.startsWith('--')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const spec = specs.find((s) => `--${s.name}` === key || (s.alias !== undefined && `-${s.alias}` === key));
    if (spec === undefined) {
      const names = specs.map((s) => `--${s.name}`);
      diagnostics.push(
        error(
          'SEQ200',
          spanOfWhole('<command line>'),
          `\`seqc ${command}\` has no flag \`${key}\``,
          didYouMean(key, names) ?? `see \`seqc ${command} --help\``,
          { names: [command], flag: key, expected: names },
        ),
      );
      continue;
    }
    let value: string | undefined = inline;
    if (spec.takesValue && value === undefined) {
      value = argv[i + 1];
      if (value === undefined) {
        diagnostics.push(
          error(
            'SEQ201',
            spanOfWhole('<command line>'),
            `\`--${spec.name}\` needs a value`,
            `see \`seqc ${command} --help\``,
            { flag: `--${spec.name}`, expected: 'a value' },
          ),
        );
        continue;
      }
      i++;
    }
    const list = flags.get(spec.name) ?? [];
    if (list.length > 0 && spec.repeatable !== true) {
      diagnostics.push(
        error('SEQ201', spanOfWhole('<command line>'), `\`--${spec.name}\` is given more than once`, undefined, {
          flag: `--${spec.name}`,
          limit: 1,
        }),
      );
      continue;
    }
    list.push(value ?? 'true');
    flags.set(spec.name, list);
  }
  return diagnostics.length > 0 ? { diagnostics } : { args: { positionals, flags }, diagnostics };
}

export function integerFlag(
  args: ParsedArgs,
  name: string,
  range: { min: number; max: number },
): { value?: number; diagnostics: Diagnostic[] } {
  const raw = args.flags.get(name)?.[0];
  if (raw === undefined) return { diagnostics: [] };
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw) || value < range.min || value > range.max) {
    return {
      diagnostics: [
        error(
          'SEQ201',
          spanOfWhole(`--${name}`),
          `\`--${name}\` must be an integer from ${range.min} to ${range.max}, found \`${raw}\``,
          undefined,
          { flag: `--${name}`, value: raw, range: [range.min, range.max] },
        ),
      ],
    };
  }
  return { value, diagnostics: [] };
}

export function helpText(usage: string, summary: string, specs: readonly FlagSpec[]): string {
  const flagLines = specs.map((s) => {
    const names = `${s.alias === undefined ? '    ' : `-${s.alias}, `}--${s.name}${s.takesValue ? ' VALUE' : ''}`;
    return `  ${names.padEnd(28)}${s.description}`;
  });
  return [`Usage: ${usage}`, '', summary, '', 'Options:', ...flagLines, ''].join('\n');
}
