/** Worker thread entry: builds the κ-NN rows of one document range (see knn.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { buildKnnPart, type KnnBuildInput } from './knn.js';

const { input, docStart, docEnd } = workerData as { input: KnnBuildInput; docStart: number; docEnd: number };
const rows = buildKnnPart(input, docStart, docEnd);
parentPort!.postMessage(rows, [rows.buffer as ArrayBuffer]);
