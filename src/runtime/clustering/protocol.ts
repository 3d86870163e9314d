/**
 * Kong's hybrid protocol v1, as it travels on the WebSocket:
 *
 *   DP ──wss /v1/outlet?node_id=…&node_hostname=…&node_version=… (mTLS)──► CP
 *   DP ──binary: {"type":"basic_info","plugins":[{name,version}],"labels":{…}}──► CP
 *   DP ──ping(payload = current 32-hex config hash)──► CP ──pong──► DP
 *   CP ──binary: gzip({"type":"reconfigure","timestamp","config_table",
 *                       "config_hash","hashes"})──► DP
 *
 * kctl's incremental sync, on the same connection (peers that do not know it ignore the
 * fields, so an older CP keeps sending whole configurations and an older DP gets them):
 *
 *   DP basic_info carries "kctl_sync":{"version":V,"hash":H}: the configuration version
 *      it has (from its cache; -1: none, or one without a version) and its hash;
 *   CP reconfigure carries "kctl_version": the version of that configuration;
 *   CP ──binary: gzip({"type":"kctl_delta","from":V,"version":W,"deltas":[{kind,id,
 *      entity|null}],"config_hash","hashes","kctl_digest"})──► DP: the changes after V up
 *      to W, in order, and the digest of the configuration they lead to;
 *   DP ──binary: {"type":"kctl_get_delta","version":V,"hash":H}──► CP: when a delta did not
 *      fit (another "from", an invalid entity, a different hash); V = -1 asks for the
 *      whole configuration.
 *
 * Kong 3.9's protocol, `/v2/outlet` (`cluster_rpc`, `cluster_incremental_sync`), is a
 * separate connection: JSON-RPC 2.0 in snappy frames after a `kong.meta.v1` hello (rpc.ts),
 * carrying `kong.sync.v2` (sync-v2.ts). Its versions are the ones `kctl_version` and the
 * deltas above carry (`clustering_sync_version`), so a data plane's cache serves either.
 */
import {gunzipSync, gzipSync} from 'node:zlib'
import type {ConfigHashes} from './config-hash.js'

export const OUTLET_PATH = '/v1/outlet'
/** SNI the DP sends in `shared` mode (Kong's). */
export const SHARED_SERVER_NAME = 'kong_clustering'

export interface PluginInfo {
  name: string
  version: string
}

export interface SyncPosition {
  version: number
  hash: string
}

export interface BasicInfo {
  type: 'basic_info'
  plugins: PluginInfo[]
  labels?: Record<string, string>
  kctl_sync?: SyncPosition
}

export interface DeltaEntry {
  kind: string
  id: string
  /** The entity after the change (the export's shape), null when deleted. */
  entity: Record<string, unknown> | null
}

export interface DeltaMessage {
  type: 'kctl_delta'
  from: number
  version: number
  deltas: DeltaEntry[]
  config_hash: string
  hashes: ConfigHashes
  /** The digest of the configuration after the changes (synced-config.ts); a DP checks the changes with it. */
  kctl_digest?: string
}

export interface GetDelta extends SyncPosition {
  type: 'kctl_get_delta'
}

export interface Reconfigure {
  type: 'reconfigure'
  timestamp: number
  config_table: Record<string, unknown>
  config_hash: string
  hashes: ConfigHashes
  kctl_version?: number
}

const isPosition = (v: unknown): v is SyncPosition =>
  typeof v === 'object' && v !== null && Number.isInteger((v as SyncPosition).version) && typeof (v as SyncPosition).hash === 'string'

export const encodeBasicInfo = (info: Omit<BasicInfo, 'type'>): Buffer => Buffer.from(JSON.stringify({type: 'basic_info', ...info}))

export function decodeBasicInfo(data: Buffer): BasicInfo {
  const msg = JSON.parse(data.toString('utf8'))
  if (msg?.type !== 'basic_info' || !Array.isArray(msg.plugins)) throw new Error('the first message must be basic_info with a plugins list')
  if (msg.kctl_sync !== undefined && !isPosition(msg.kctl_sync)) delete msg.kctl_sync
  return msg as BasicInfo
}

export const encodeGetDelta = (at: SyncPosition): Buffer => Buffer.from(JSON.stringify({type: 'kctl_get_delta', version: at.version, hash: at.hash}))

/** A message the DP sends after basic_info; null when it is none kctl knows. */
export function decodeGetDelta(data: Buffer): GetDelta | null {
  try {
    const msg = JSON.parse(data.toString('utf8'))
    return msg?.type === 'kctl_get_delta' && isPosition(msg) ? (msg as GetDelta) : null
  } catch {
    return null
  }
}

export const encodeDelta = (msg: Omit<DeltaMessage, 'type'>): Buffer => gzipSync(JSON.stringify({type: 'kctl_delta', ...msg}))

/** A reconfigure message as JSON, before its gzip. */
export const reconfigureJson = (msg: Omit<Reconfigure, 'type'>): string => JSON.stringify({type: 'reconfigure', ...msg})

export const encodeReconfigure = (msg: Omit<Reconfigure, 'type'>): Buffer => gzipSync(reconfigureJson(msg))

export const decodeReconfigure = (data: Buffer): Reconfigure => checkReconfigure(decodeMessage(data))

export function checkReconfigure(value: unknown): Reconfigure {
  const msg = value as Partial<Reconfigure> | null
  if (msg?.type !== 'reconfigure' || typeof msg.config_table !== 'object' || msg.config_table === null || typeof msg.config_hash !== 'string') {
    throw new Error('not a reconfigure message')
  }
  return msg as Reconfigure
}

/** A CP frame: gunzipped and parsed, not checked. */
export const decodeMessage = (data: Buffer): unknown => JSON.parse(gunzipSync(data).toString('utf8'))

export function checkDelta(value: unknown): DeltaMessage {
  const msg = value as Partial<DeltaMessage> | null
  if (msg?.type !== 'kctl_delta' || !Number.isInteger(msg.from) || !Number.isInteger(msg.version) || !Array.isArray(msg.deltas) || typeof msg.config_hash !== 'string' || (msg.kctl_digest !== undefined && typeof msg.kctl_digest !== 'string')) {
    throw new Error('not a delta message')
  }
  return msg as DeltaMessage
}

/** The `sync_status` values Kong reports for a data plane. */
export const SyncStatus = {
  UNKNOWN: 'unknown',
  NORMAL: 'normal',
  KONG_VERSION_INCOMPATIBLE: 'kong_version_incompatible',
  PLUGIN_SET_INCOMPATIBLE: 'plugin_set_incompatible',
  PLUGIN_VERSION_INCOMPATIBLE: 'plugin_version_incompatible',
} as const
export type SyncStatusValue = (typeof SyncStatus)[keyof typeof SyncStatus]
