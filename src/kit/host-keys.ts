/**
 * The host key policy of this run: `--accept-new-host-keys` (hostFlags), applied once by the
 * base command when it parses the flags, read by every SSH connection kctl opens.
 */
let acceptNew = false

export const acceptNewHostKeys = (): boolean => acceptNew

export function setAcceptNewHostKeys(value: boolean): void {
  acceptNew = value
}
