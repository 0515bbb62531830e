/**
 * The CIFF schema (Common Index File Format v1, the exchange format of PISA, Anserini and
 * Terrier) as protobufjs types. The message definitions are the format's own; protobufjs encodes
 * and decodes them. protobufjs is loaded on first use only, so `import 'spladex'` stays light.
 *
 * A CIFF file is a Header, then `num_postings_lists` PostingsList messages, then `num_docs`
 * DocRecord messages, each preceded by its length as a varint.
 */
import type { Reader, Type, Writer } from 'protobufjs';

const CIFF_PROTO = `
syntax = "proto3";
message Header {
  int32 version = 1;
  int32 num_postings_lists = 2;
  int32 num_docs = 3;
  int32 total_postings_lists = 4;
  int32 total_docs = 5;
  int64 total_terms_in_collection = 6;
  double average_doclength = 7;
  string description = 8;
}
message Posting {
  int32 docid = 1;
  int32 tf = 2;
}
message PostingsList {
  string term = 1;
  int64 df = 2;
  int64 cf = 3;
  repeated Posting postings = 4;
}
message DocRecord {
  int32 docid = 1;
  string collection_docid = 2;
  int32 doclength = 3;
}
`;

export interface CiffHeader {
  version: number;
  num_postings_lists: number;
  num_docs: number;
  total_postings_lists: number;
  total_docs: number;
  total_terms_in_collection: number;
  average_doclength: number;
  description: string;
}

export interface CiffDocRecord {
  docid: number;
  collection_docid: string;
  doclength: number;
}

/** Field numbers and wire tags the streaming list codec needs (a PostingsList's `postings`, a Posting's fields). */
export const POSTINGS_FIELD_TAG = (4 << 3) | 2;
export const POSTING_DOCID_TAG = (1 << 3) | 0;
export const POSTING_TF_TAG = (2 << 3) | 0;

export interface CiffCodec {
  header: Type;
  postingsList: Type;
  docRecord: Type;
  /** A reader over `bytes` (protobufjs' wire-level decoder). */
  reader(bytes: Uint8Array): Reader;
  writer(): Writer;
}

let codec: Promise<CiffCodec> | undefined;

/** The CIFF message types, compiled once per process. */
export function ciffCodec(): Promise<CiffCodec> {
  codec ??= import('protobufjs').then((module) => {
    const protobuf = module.default;
    const root = protobuf.parse(CIFF_PROTO, { keepCase: true }).root;
    return {
      header: root.lookupType('Header'),
      postingsList: root.lookupType('PostingsList'),
      docRecord: root.lookupType('DocRecord'),
      reader: (bytes: Uint8Array) => protobuf.Reader.create(bytes),
      writer: () => protobuf.Writer.create(),
    };
  });
  return codec;
}

/** An int64 field as a number: protobufjs gives a Long when the `long` package is installed. */
export function int64Number(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value !== null && typeof value === 'object' && 'toNumber' in value) return (value as { toNumber(): number }).toNumber();
  return Number(value ?? 0);
}

/** Bytes of `value` as a protobuf varint (an int32 below zero takes 10). */
export function varintBytes(value: number): number {
  if (value < 0) return 10;
  let n = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}
