/**
 * The Kong version this runtime is compatible with. It is what the node reports in
 * `GET /`, the `Via` header and the hybrid protocol's `node_version`, where Kong's
 * major/minor compatibility rules apply to it.
 */
export const GATEWAY_VERSION = '3.9.0'
