#!/usr/bin/env node
/** spladex command line: one file per command under cli/commands, each exporting `register`. */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { register as registerEncode } from './commands/encode.js';
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

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// `spladex search … | head` closes stdout early; that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command()
  .name('spladex')
  .description('Learned sparse retrieval: Seismic-style block-pruned inverted index over SPLADE vectors')
  .version(version)
  .showHelpAfterError();

for (const register of [registerEncode, registerIndex, registerSearch, registerInfo, registerSynth]) register(program);
for (const register of [registerAdd, registerDelete, registerCompact, registerVerify]) register(program);
registerBench(program);
registerEval(program);

await program.parseAsync(process.argv);
