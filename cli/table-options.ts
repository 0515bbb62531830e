/**
 * Commander options from the library's option tables (`BUILD_OPTIONS`, `SEARCH_OPTIONS`, …): each
 * flag with its help (default and range rendered from the table), a parser that checks the type
 * (commander's "argument … is invalid" error) and then the range (`E_OPTION` naming the flag as
 * the user wrote it: `--heap-factor must be in (0, 1], got 2`), and old spellings as hidden
 * aliases; and the parsed flags read back into a library options object.
 *
 * Defaults are not handed to commander: a flag left out stays out of the options object and the
 * library fills its default from the same table, so a default is applied in one place only.
 */
import { Help, InvalidArgumentError, Option, type Command } from 'commander';
import { SpladexError, type FlagDescription, type OptionsTable } from '../src/index.js';

export interface TableFlagChoices<K extends string> {
  /** Only these options (table order); default: every option of the table that has a flag. */
  only?: readonly K[];
  /** Leave these out (another flag of the command has their name, or the command sets them). */
  omit?: readonly K[];
  /** This command's help line of an option, instead of the table's. */
  help?: Partial<Record<K, string>>;
  /** This command's default, when it differs from the library's (e.g. an encoder kind that depends on --model). */
  defaultText?: Partial<Record<K, string>>;
  /** Before every help line, e.g. "(--input text) ". */
  prefix?: string;
}

/** Joins "(default:" to the word after it while help is wrapped (a character JavaScript's \s does not match). */
const GLUE = '\u2060';

/**
 * Help settings for the program (subcommands inherit them): descriptions are wrapped as commander
 * does, except that "(default: 32)" never breaks after the colon, so a default reads — and greps — whole.
 */
export const HELP_SETTINGS: Partial<Help> = {
  boxWrap(this: Help, text: string, width: number): string {
    return Help.prototype.boxWrap.call(this, text.replaceAll('(default: ', `(default:${GLUE}`), width).replaceAll(`(default:${GLUE}`, '(default: ');
  },
};

/** A table option added to a command: its description and its commander options (the flag first, then its aliases). */
interface AddedFlag {
  description: FlagDescription;
  options: Option[];
}

/** The table flags each command was given, so reading them back takes exactly those. */
const added = new WeakMap<Command, Map<object, AddedFlag[]>>();

function commanderOption(f: FlagDescription, flag: string, description: string): Option {
  const option = new Option(f.placeholder === undefined ? flag : `${flag} <${f.placeholder}>`, description);
  if (f.placeholder === undefined) return option;
  return option.argParser((text: string) => {
    const parsed = f.parse(text);
    if ('error' in parsed) throw new InvalidArgumentError(parsed.error);
    // A SpladexError is not commander's: it reaches main.ts and is reported as `[E_OPTION]`.
    f.check(parsed.value, flag);
    return parsed.value;
  });
}

/** Adds the flags of `table` (all, or as `choices` selects) to `command`. */
export function addTableOptions<T>(command: Command, table: OptionsTable<T>, choices: TableFlagChoices<keyof T & string> = {}): Command {
  const list: AddedFlag[] = [];
  for (const f of table.flags) {
    const key = f.key as keyof T & string;
    if ((choices.only !== undefined && !choices.only.includes(key)) || choices.omit?.includes(key)) continue;
    const description = `${choices.prefix ?? ''}${table.describe(key, { help: choices.help?.[key], defaultText: choices.defaultText?.[key] })}`;
    const options = [commanderOption(f, f.flag, description), ...f.aliases.map((alias) => commanderOption(f, alias, `old name of ${f.flag}`).hideHelp())];
    for (const option of options) command.addOption(option);
    list.push({ description: f, options });
  }
  const tables = added.get(command) ?? new Map<object, AddedFlag[]>();
  tables.set(table, [...(tables.get(table) ?? []), ...list]);
  added.set(command, tables);
  return command;
}

function addedFlags(command: Command, table: object): AddedFlag[] {
  const list = added.get(command)?.get(table);
  if (list === undefined) throw new Error(`${command.name()} has no flags of this options table (addTableOptions first)`);
  return list;
}

/** The flags of `table` given on the command line, as the user wrote them (`--knn` rather than `--graph-neighbors`). */
export function tableFlagsGiven<T>(command: Command, table: OptionsTable<T>): string[] {
  return addedFlags(command, table).flatMap(({ options }) => options.filter((o) => command.getOptionValueSource(o.attributeName()) === 'cli').map((o) => o.long as string));
}

/** The library options the user gave through the flags of `table` (flags left out are absent, so the library's defaults apply). */
export function tableOptionsFrom<T>(command: Command, table: OptionsTable<T>): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const { description, options } of addedFlags(command, table)) {
    const given = options.filter((o) => command.getOptionValueSource(o.attributeName()) === 'cli');
    if (given.length > 1) throw new SpladexError('E_OPTION', `${given[1].long} is the old name of ${given[0].long}: give one of them`);
    if (given.length === 1) out[description.key] = command.getOptionValue(given[0].attributeName());
  }
  return out as Partial<T>;
}
