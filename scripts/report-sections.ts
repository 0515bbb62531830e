/**
 * Sections of the benchmark report that one script owns between two HTML-comment markers (the
 * long-document case, the generalisation suite, the Seismic yardstick): replacing one in place,
 * and keeping them when the suite rewrites the report's body.
 */

export interface SectionMarkers {
  start: string;
  end: string;
}

/** The block between `markers` in `report` (markers included), if present. */
function sectionOf(report: string, markers: SectionMarkers): string | undefined {
  const from = report.indexOf(markers.start);
  const to = report.indexOf(markers.end);
  return from >= 0 && to > from ? report.slice(from, to + markers.end.length) : undefined;
}

/** `block` after the rest of `report`, one blank line between. */
const appendBlock = (report: string, block: string): string => (report.trim() === '' ? `${block}\n` : `${report.trimEnd()}\n\n${block}\n`);

/**
 * `report` with the block between `markers` replaced by `block` (which carries the markers), or,
 * when the report has none, `block` placed by `place` (default: appended).
 */
export function spliceSection(report: string, markers: SectionMarkers, block: string, place: (report: string, block: string) => string = appendBlock): string {
  const old = sectionOf(report, markers);
  if (old === undefined) return place(report, block);
  const at = report.indexOf(old);
  return report.slice(0, at) + block + report.slice(at + old.length);
}

/** Sections other scripts splice into the report; a rewrite of its body keeps them. */
const SPLICED_SECTIONS: readonly SectionMarkers[] = ['generalisation', 'seismic', 'encoding', 'serving', 'opensearch'].map((name) => ({ start: `<!-- ${name}:start -->`, end: `<!-- ${name}:end -->` }));

/** `fresh` (a rewritten report) with every spliced section of `previous` that `fresh` lacks appended. */
export function keepSplicedSections(previous: string, fresh: string): string {
  let out = fresh;
  for (const markers of SPLICED_SECTIONS) {
    const kept = sectionOf(previous, markers);
    if (kept !== undefined && sectionOf(out, markers) === undefined) out = appendBlock(out, kept);
  }
  return out;
}
