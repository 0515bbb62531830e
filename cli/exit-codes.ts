/**
 * The exit-status contract of the `spladex` command, in one place: the code uses `EXIT`, and both
 * `spladex --help` and README's "Exit status" section are rendered from `EXIT_STATUS` (a test checks
 * the README against `exitStatusMarkdown()`), so the documentation cannot drift from the behaviour.
 */

export const EXIT = {
  ok: 0,
  /** Reserved for `verify` finding damage, so scripts can tell "damaged" from "could not check". */
  damaged: 1,
  usage: 2,
  /** Not 1: a crash must never read as "the index is damaged". */
  internal: 3,
} as const;

export interface ExitStatusRow {
  status: number;
  /** One line; `backticks` mark code in the README and are dropped in `--help`. */
  meaning: string;
}

export const EXIT_STATUS: readonly ExitStatusRow[] = [
  { status: EXIT.ok, meaning: 'success' },
  { status: EXIT.damaged, meaning: '`spladex verify` found damage (nothing else exits 1)' },
  {
    status: EXIT.usage,
    meaning:
      'usage, option or input error: an unknown option or command, a missing or invalid argument, and every typed error (`spladex: error [E_…]: …`)',
  },
  { status: EXIT.internal, meaning: 'internal error (a bug in spladex): printed with a stack trace; please report it' },
];

/** Killing is not spladex's choice, but scripts meet it too, so it is documented with the table. */
export const EXIT_STATUS_NOTE = 'Interrupted by a signal: 128 + the signal number, as usual (130 for Ctrl-C, 143 for SIGTERM).';

/** The table as plain text, for `spladex --help`, wrapped to 80 columns under its meaning column. */
export function exitStatusHelp(): string {
  const plain = (text: string): string => text.replaceAll('`', '');
  const rows = EXIT_STATUS.map((row) => wrap(plain(row.meaning), 74).map((line, i) => `  ${i === 0 ? String(row.status).padEnd(4) : '    '}${line}`).join('\n'));
  return ['Exit status:', ...rows, ...wrap(plain(EXIT_STATUS_NOTE), 78).map((line) => `  ${line}`)].join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}

/** The table as Markdown, exactly as README's "Exit status" section carries it. */
export function exitStatusMarkdown(): string {
  const cell = (text: string): string => text.replaceAll('|', '\\|');
  return ['| Status | Meaning |', '| --- | --- |', ...EXIT_STATUS.map((row) => `| ${row.status} | ${cell(row.meaning)} |`), '', EXIT_STATUS_NOTE].join('\n');
}
