#!/usr/bin/env node
/** spladex command line: one file per command under cli/commands, each exporting `register`. */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { SpladexError } from '../src/index.js';import { register as registerEncode } from './commands/encode.js';
import { register as registerBench } from './commands/bench.js';
import { register as registerEval } from './commands/eval.js';
import { register as registerIndex } from './commands/index.js';
import { register as registerInfo } from './commands/info.js';
import { register as registerSearch } from './commands/search.js';
import { register as registerSynth } from './commands/synth.js';
import { register as registerAdd } from './commands/add.js';
import { register as registerDelete } from './commands/delete.js';
import { register as registerCompact } from './commands/compact.js';
import { register as registerVerify } from './commands/verify.js';
import { register as registerGet } from './commands/get.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerCiff } from './commands/ciff.js';
import { register as registerExport } from './commands/export.js';
import { register as registerModel } from './commands/model.js';
import { registerConvert } from './commands/model-convert.js';
import { exitStatusHelp } from './exit-codes.js';
import { HELP_SETTINGS } from './table-options.js';
import { exitStatusOf, reportError, routeParserErrors } from './util.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// `spladex search … | head` closes stdout early; that is not an error. Any other failure to write
// the output (a full disk) is the user's I/O problem, not a bug: exit status 2, not 3.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  reportError(new SpladexError('E_IO', `cannot write the output (${error.message})`, { cause: error }));
  process.exit();
});

// An error thrown outside any action (an unhandled stream error, say) is a bug too: report it like
// one, exit status 3 or 2 for a typed error, instead of Node's default status 1 ("damaged").
process.on('uncaughtException', (error) => {
  reportError(error);
  process.exit();
});

const program = new Command()
  .name('spladex')
  .description('Learned sparse retrieval: Seismic-style block-pruned inverted index over SPLADE vectors')
  .version(version)
  .configureHelp(HELP_SETTINGS)
  .addHelpText('after', `\n${exitStatusHelp()}`);

for (const register of [registerEncode, registerIndex, registerSearch, registerGet, registerInfo, registerSynth]) register(program);
for (const register of [registerAdd, registerDelete, registerCompact, registerVerify]) register(program);
registerBench(program);
registerEval(program);
registerServe(program);
registerCiff(program);
registerExport(program);
// Returns the `model` command: its further subcommands (e.g. `model convert`) register on it.
registerConvert(registerModel(program));

routeParserErrors(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Actions report their own errors (util.ts `action`); what reaches here is commander's, or a bug.
  if (error instanceof CommanderError) process.exitCode = exitStatusOf(error);
  else reportError(error);
}
