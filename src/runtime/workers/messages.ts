/**
 * What the primary and its proxy workers say over the cluster IPC channel (JSON).
 * Config versions count up in the primary; a worker acknowledges each one it applies,
 * in order (the channel keeps order), so "version ≥ v" means "serves v or newer".
 */
import type {NodeConf} from '../conf/defaults.js'
import type {EntityArrays} from '../config-loader.js'
import type {MetricsDump} from '../plugins/registry.js'
import type {ProxyStats} from '../proxy/server.js'

export type ToWorker =
  /**
   * First message, answering the worker's `hello`. `database`: open a pool to the node's
   * Postgres (`conf.pg_*`) for the plugins that keep data there.
   */
  | {type: 'init'; conf: NodeConf; database: boolean}
  /** A configuration to build and swap in; the first one also opens `proxy_listen`. */
  | {type: 'config'; version: number; entities: EntityArrays}
  | {type: 'report'; id: number}
  /** Stop accepting, finish in-flight requests, exit 0. */
  | {type: 'drain'}

export type FromWorker =
  /** The worker listens for messages; nothing sent before this is safe. */
  | {type: 'hello'}
  | {type: 'applied'; version: number}
  | {type: 'apply-failed'; version: number; message: string}
  /** `proxy_listen` is open: the worker takes traffic from now on. */
  | {type: 'listening'}
  /** The worker cannot serve (e.g. `proxy_listen` failed) and exits 1. */
  | {type: 'failed'; message: string}
  | {type: 'report'; id: number; stats: ProxyStats; metrics: MetricsDump | null}
