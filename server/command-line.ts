/**
 * Command-line parsing shared by every entry point (bench/*, cli/migrate.ts):
 * node:util parseArgs in strict mode, plus the two behaviours every command must have —
 *
 * - `--help` / `-h`: the usage text (generated from the declared options, arguments and
 *   environment variables) on stdout, exit 0, before anything is opened or started;
 * - a bad command line (unknown option, missing value, extra or invalid argument): exactly one
 *   line on stderr, `<command>: <problem> (try --help)`, exit 2, no stack trace.
 *
 * Call parseCli() first thing in the module body, before any work happens.
 */
import { parseArgs } from 'node:util';

export interface CliOption {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  default?: string | boolean | string[] | boolean[];
  /** Placeholder for the value in the help, e.g. `N` or `URL` (string options). */
  value?: string;
  /** What the option does (may span lines with `\n`). */
  description: string;
}

export type CliOptions = Record<string, CliOption>;

export interface CliArgument {
  name: string;
  description: string;
}

export interface CliSpec<O extends CliOptions> {
  /** How the command is run, e.g. `npm run bench --`; the help's first line and (without ` --`) errors start with it. */
  command: string;
  /** Synopsis after the command, e.g. `[options]` or `[updates] [members]`. */
  synopsis?: string;
  /** What the command does, a paragraph or two. */
  summary: string;
  options?: O;
  /** Positional arguments, in order; at most this many are accepted (none when absent). */
  arguments?: readonly CliArgument[];
  /** Environment variables the command reads. */
  environment?: readonly CliArgument[];
  /** Free text at the end of the help (examples, notes). */
  notes?: string;
  /** Defaults to process.argv.slice(2). */
  argv?: readonly string[];
}

type ParsedValues<O extends CliOptions> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>>['values'];

export interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
}

export interface ParsedCli<O extends CliOptions> {
  values: ParsedValues<O>;
  positionals: string[];
  /** Reports a bad command line: one line on stderr with the hint, exit 2. */
  fail(problem: string): never;
  /** `raw` as a number obeying `rule`, undefined when `raw` is; otherwise fail() naming `what`. */
  number(raw: string | undefined, what: string, rule?: NumberRule): number | undefined;
  /** `raw` if it is one of `choices`, undefined when `raw` is; otherwise fail() naming `what`. */
  oneOf<C extends string>(raw: string | undefined, what: string, choices: readonly C[]): C | undefined;
}

const HELP: CliOption = { type: 'boolean', short: 'h', description: 'show this help and exit' };

/** Parses the command line or exits: 0 after printing the help, 2 after a one-line error. */
export function parseCli<O extends CliOptions>(spec: CliSpec<O>): ParsedCli<O> {
  const argv = spec.argv ?? process.argv.slice(2);
  const declared: CliOptions = { ...spec.options, help: HELP };
  const maxPositionals = spec.arguments?.length ?? 0;
  const fail = (problem: string): never => {
    const line = `${spec.command.replace(/ --$/, '')}: ${problem} (try --help)`.replace(/\s*[\r\n]+\s*/g, ' ');
    process.stderr.write(`${line}\n`);
    process.exit(2);
  };

  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: parserOptions(declared), strict: true, allowPositionals: true });
  } catch (error) {
    // `--help` wins over whatever else is wrong on the line.
    if (asksForHelp(argv)) printHelpAndExit(spec, declared);
    return fail(describeParseError(error));
  }
  if (parsed.values.help === true) printHelpAndExit(spec, declared);
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals[maxPositionals]!;
    return fail(maxPositionals === 0 ? `unexpected argument '${extra}'` : `too many arguments (unexpected '${extra}')`);
  }
  delete parsed.values.help;

  return {
    values: parsed.values as ParsedValues<O>,
    positionals: parsed.positionals,
    fail,
    number(raw, what, rule = {}) {
      if (raw === undefined) return undefined;
      const value = raw.trim() === '' ? NaN : Number(raw);
      const ok =
        Number.isFinite(value) &&
        (!rule.integer || Number.isInteger(value)) &&
        (rule.min === undefined || value >= rule.min) &&
        (rule.max === undefined || value <= rule.max);
      if (!ok) fail(`${what}: expected ${describeRule(rule)}, got '${raw}'`);
      return value;
    },
    oneOf<C extends string>(raw: string | undefined, what: string, choices: readonly C[]): C | undefined {
      if (raw === undefined) return undefined;
      if (!(choices as readonly string[]).includes(raw)) fail(`${what}: expected ${choices.join(' | ')}, got '${raw}'`);
      return raw as C;
    },
  };
}

/** The configuration parseArgs accepts (our help fields removed). */
function parserOptions(options: CliOptions): NonNullable<Parameters<typeof parseArgs>[0]>['options'] {
  const out: Record<string, Omit<CliOption, 'value' | 'description'>> = {};
  for (const [name, { value: _value, description: _description, ...config }] of Object.entries(options)) out[name] = config;
  return out;
}

function asksForHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/** parseArgs' message, first line only, in the lower-case style of the other errors. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const first = message.split('\n')[0]!.trim();
  const quoted = /'([^']*)'/.exec(first)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted !== undefined) return `unknown option '${quoted}'`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && quoted !== undefined) return `unexpected argument '${quoted}'`;
  const sentence = first.replace(/\.$/, '');
  return sentence.charAt(0).toLowerCase() + sentence.slice(1);
}

function describeRule(rule: NumberRule): string {
  let kind = rule.integer ? 'an integer' : 'a number';
  if (rule.min !== undefined && rule.max !== undefined) kind += ` from ${rule.min} to ${rule.max}`;
  else if (rule.min !== undefined) kind += ` >= ${rule.min}`;
  else if (rule.max !== undefined) kind += ` <= ${rule.max}`;
  return kind;
}

function printHelpAndExit<O extends CliOptions>(spec: CliSpec<O>, options: CliOptions): never {
  process.stdout.write(renderHelp(spec, options));
  process.exit(0);
}

/** The --help text: usage line, summary, then Arguments / Options / Environment / notes. */
export function renderHelp<O extends CliOptions>(spec: CliSpec<O>, options: CliOptions = { ...spec.options, help: HELP }): string {
  const synopsis =
    spec.synopsis ??
    [Object.keys(options).length > 1 ? '[options]' : '', ...(spec.arguments ?? []).map((a) => `[${a.name}]`)].filter(Boolean).join(' ');
  const lines = [`Usage: ${spec.command}${synopsis ? ` ${synopsis}` : ''}`, '', spec.summary.trim()];
  const section = (title: string, rows: Array<[string, string]>) => {
    if (rows.length === 0) return;
    const width = Math.min(28, Math.max(...rows.map(([left]) => left.length)) + 2);
    lines.push('', `${title}:`);
    for (const [left, text] of rows) {
      const [head = '', ...rest] = text.split('\n');
      if (left.length + 2 > width) lines.push(`  ${left}`, `  ${' '.repeat(width)}${head}`);
      else lines.push(`  ${left.padEnd(width)}${head}`);
      for (const more of rest) lines.push(`  ${' '.repeat(width)}${more}`);
    }
  };
  section(
    'Arguments',
    (spec.arguments ?? []).map((a) => [a.name, a.description]),
  );
  section(
    'Options',
    Object.entries(options).map(([name, option]) => {
      const flag = `${option.short ? `-${option.short}, ` : ''}--${name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`;
      const repeat = option.multiple ? ' (repeatable)' : '';
      const unset =
        option.default === undefined || option.default === false || (Array.isArray(option.default) && option.default.length === 0);
      // A description ending in a newline puts the default on a line of its own.
      const shown = unset ? '' : `${option.description.endsWith('\n') ? '' : ' '}(default: ${String(option.default)})`;
      return [flag, `${option.description}${repeat}${shown}`.trimEnd()];
    }),
  );
  section(
    'Environment',
    (spec.environment ?? []).map((e) => [e.name, e.description]),
  );
  if (spec.notes) lines.push('', spec.notes.trim());
  return `${lines.join('\n')}\n`;
}
