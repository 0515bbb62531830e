/**
 * `spladex get <dir> <id…>`: prints stored documents by id — one JSON line each (default) or a
 * block of `field  value` lines each (`--format table`), with `--fields` choosing what. Every id is
 * looked up: the documents found are printed in the order asked, then the ids no live document has
 * are reported together as one `E_NOT_FOUND` error (exit status 2), so a script sees both.
 */
import type { Command } from 'commander';
import { SpladexError, SpladexIndex, checkFieldsExist, parseFields, projectDocument, type FieldPath } from '../../src/index.js';
import { documentBlock } from '../hit-format.js';
import { action, choice, writeLine } from '../util.js';

/** The fields of a document when `--fields` is not given. */
const ALL_FIELDS = parseFields('id,content,metadata', { withScore: false });

export function register(program: Command): void {
  program
    .command('get')
    .description('print stored documents by id: one JSON line each, or a block of lines each with --format table; ids no live document has are reported together (exit status 2) after the documents found')
    .argument('<dir>', 'index directory')
    .argument('<ids...>', 'document ids')
    .option('--format <format>', 'output: json (one line per document) | table (field and value lines, a blank line between documents)', choice(['json', 'table'] as const), 'json')
    .option(
      '--fields <list>',
      'fields to print, e.g. content,metadata.year (a bare name is a metadata key: year = metadata.year; the id is always printed) (default: id,content,metadata)',
      (value: string) => parseFields(value, { withScore: false }),
    )
    .action(
      action((dir: string, ids: string[], opts: { format: 'json' | 'table'; fields?: FieldPath[] }) => {
        const fields = opts.fields ?? ALL_FIELDS;
        const index = SpladexIndex.open(dir);
        try {
          const found = ids.map((id) => ({ id, doc: index.getDocument(id) }));
          const documents = found.flatMap(({ doc }) => (doc === undefined ? [] : [doc]));
          if (opts.fields !== undefined && documents.length > 0) checkFieldsExist(opts.fields, documents, () => index.documents());
          const shown = fields.some((f) => f.path[0] === 'id') ? fields : [{ name: 'id', path: ['id'] }, ...fields];
          documents.forEach((doc, i) => {
            const record = { id: doc.id, ...projectDocument(doc, fields) };
            if (opts.format === 'json') writeLine(JSON.stringify(record));
            else writeLine(`${i > 0 ? '\n' : ''}${documentBlock(record, shown)}`);
          });
          const missing = [...new Set(found.filter(({ doc }) => doc === undefined).map(({ id }) => id))];
          if (missing.length > 0) {
            const list = missing.map((id) => JSON.stringify(id)).join(', ');
            throw new SpladexError(
              'E_NOT_FOUND',
              `no live document has id ${list} (${missing.length} of ${new Set(ids).size} ids not found; ${documents.length} printed); check the ids — a deleted document is gone, a replaced one has its new version under the same id`,
            );
          }
        } finally {
          index.close();
        }
      }),
    );
}
