/** Worker thread entry: builds the blocks and summaries of one term range (see inverted.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { buildInvertedPart, type BlockBuildInput } from './blocks.js';

const { input, termStart, termEnd } = workerData as { input: BlockBuildInput; termStart: number; termEnd: number };
const part = buildInvertedPart(input, termStart, termEnd);
const transfer = [part.listBlockCounts, part.blockSizes, part.postingDocs, part.blockScales, part.summarySizes, part.summaryTerms, part.summaryCodes].map((a) => a.buffer as ArrayBuffer);
parentPort!.postMessage(part, transfer);
