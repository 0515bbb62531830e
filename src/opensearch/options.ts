/**
 * Options of the OpenSearch bridge, one table per group (src/util/options-table.ts): where the
 * cluster is and how to authenticate (`OPENSEARCH_CONNECTION_OPTIONS`, shared by export, search,
 * eval and bench), and how an index is exported (`OPENSEARCH_EXPORT_OPTIONS`).
 */
import { defineOptions, type OptionsTable } from '../util/options-table.js';

export interface OpenSearchConnectionOptions {
  /** Cluster URLs (the client spreads requests over them and fails over). Default http://127.0.0.1:9200. */
  url?: string[];
  /** The OpenSearch index name. Required. */
  index?: string;
  /** Basic authentication user. */
  username?: string;
  /** Basic authentication password (default: the SPLADEX_OPENSEARCH_PASSWORD environment variable). */
  password?: string;
  /** API key sent as `Authorization: ApiKey <key>` (default: SPLADEX_OPENSEARCH_API_KEY). */
  apiKey?: string;
  /** PEM file of the certificate authority that signed the cluster's TLS certificate. */
  ca?: string;
  /** PEM client certificate and key, for clusters that authenticate clients by certificate. */
  cert?: string;
  key?: string;
  /** Accept any TLS certificate (testing only). Default false. */
  insecure?: boolean;
  /** Milliseconds one request may take. Default 30,000. */
  requestTimeout?: number;
  /** Retries of a request answered 429 / 5xx or not answered, with exponential back-off. Default 8. */
  retries?: number;
}

const NAME_RULE = /^[a-z0-9][a-z0-9._+-]*$/;

export const OPENSEARCH_CONNECTION_OPTIONS: OptionsTable<OpenSearchConnectionOptions> = defineOptions<OpenSearchConnectionOptions>({
  url: { type: 'string', list: true, default: ['http://127.0.0.1:9200'], placeholder: 'urls', help: 'cluster URLs, comma-separated (requests go to any of them; a node that fails is retried on another)' },
  index: {
    type: 'string',
    placeholder: 'name',
    check: (v) => (NAME_RULE.test(v) && v.length <= 255 ? undefined : 'must be an OpenSearch index name: lowercase letters, digits and . _ + -, not starting with one of them'),
    help: 'OpenSearch index name',
  },
  username: { type: 'string', placeholder: 'user', help: 'basic authentication user' },
  password: { type: 'string', placeholder: 'secret', defaultText: 'SPLADEX_OPENSEARCH_PASSWORD', help: 'basic authentication password (prefer the environment variable: a flag shows in ps)' },
  apiKey: { type: 'string', placeholder: 'key', defaultText: 'SPLADEX_OPENSEARCH_API_KEY', help: 'API key, sent as "Authorization: ApiKey <key>"' },
  ca: { type: 'string', placeholder: 'file.pem', help: "certificate authority of the cluster's TLS certificate (https URLs)" },
  cert: { type: 'string', placeholder: 'file.pem', help: 'TLS client certificate (clusters that authenticate clients by certificate)' },
  key: { type: 'string', placeholder: 'file.pem', help: "TLS client certificate's private key" },
  insecure: { type: 'boolean', default: false, help: 'accept any TLS certificate (testing only)' },
  requestTimeout: { type: 'integer', min: 100, max: 3_600_000, default: 30_000, placeholder: 'ms', help: 'milliseconds one request may take' },
  retries: { type: 'integer', min: 0, max: 100, default: 8, help: 'retries of a request answered 429 or 5xx, or not answered, with exponential back-off (0.1 s doubling to 5 s)' },
});

export type OpenSearchMethod = 'exact' | 'seismic';

export interface OpenSearchExportOptions {
  /** Primary shards of the new index. Default 1. */
  shards?: number;
  /** Replicas of each shard. Default 1 (OpenSearch's). */
  replicas?: number;
  /** `exact`: a `rank_features` field (core OpenSearch); `seismic`: the neural-search plugin's `sparse_vector` field (OpenSearch ≥ 3.3). */
  method?: OpenSearchMethod;
  /** Documents per bulk request. Default 500. */
  batchDocs?: number;
  /** Seconds between two checkpoints (the exported count in the index's `_meta`); 0 = after every batch. Default 5. */
  checkpointInterval?: number;
  /** Delete and recreate an existing index instead of resuming or refusing. Default false. */
  overwrite?: boolean;
}

export const OPENSEARCH_EXPORT_OPTIONS: OptionsTable<Required<OpenSearchExportOptions>> = defineOptions<Required<OpenSearchExportOptions>>({
  shards: { type: 'integer', min: 1, max: 1024, default: 1, help: 'primary shards of the new index' },
  replicas: { type: 'integer', min: 0, max: 16, default: 1, help: 'replicas of each shard' },
  method: { type: 'enum', values: ['exact', 'seismic'], default: 'exact', help: "exact: a rank_features field, scored exactly by core OpenSearch; seismic: the neural-search plugin's sparse_vector field (OpenSearch ≥ 3.3, approximate)" },
  batchDocs: { type: 'integer', min: 1, max: 100_000, default: 500, help: 'documents per bulk request' },
  checkpointInterval: { type: 'number', min: 0, max: 3600, default: 5, placeholder: 's', help: "seconds between checkpoints of the exported count in the index's _meta (0 = after every batch); a rerun resumes there" },
  overwrite: { type: 'boolean', default: false, help: 'delete and recreate an existing index instead of resuming the export (or refusing a foreign index)' },
});
