/**
 * Kong's hybrid protocol v1, as it travels on the WebSocket:
 *
 *   DP ──wss /v1/outlet?node_id=…&node_hostname=…&node_version=… (mTLS)──► CP
 *   DP ──binary: {"type":"basic_info","plugins":[{name,version}],"labels":{…}}──► CP
 *   DP ──ping(payload = current 32-hex config hash)──► CP ──pong──► DP
 *   CP ──binary: gzip({"type":"reconfigure","timestamp","config_table",
 *                       "config_hash","hashes"})──► DP
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

export interface BasicInfo {
  type: 'basic_info'
  plugins: PluginInfo[]
  labels?: Record<string, string>
}

export interface Reconfigure {
  type: 'reconfigure'
  timestamp: number
  config_table: Record<string, unknown>
  config_hash: string
  hashes: ConfigHashes
}

export const encodeBasicInfo = (info: Omit<BasicInfo, 'type'>): Buffer => Buffer.from(JSON.stringify({type: 'basic_info', ...info}))

export function decodeBasicInfo(data: Buffer): BasicInfo {
  const msg = JSON.parse(data.toString('utf8'))
  if (msg?.type !== 'basic_info' || !Array.isArray(msg.plugins)) throw new Error('the first message must be basic_info with a plugins list')
  return msg as BasicInfo
}

export const encodeReconfigure = (msg: Omit<Reconfigure, 'type'>): Buffer => gzipSync(JSON.stringify({type: 'reconfigure', ...msg}))

export function decodeReconfigure(data: Buffer): Reconfigure {
  const msg = JSON.parse(gunzipSync(data).toString('utf8'))
  if (msg?.type !== 'reconfigure' || typeof msg.config_table !== 'object' || typeof msg.config_hash !== 'string') {
    throw new Error('not a reconfigure message')
  }
  return msg as Reconfigure
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
