/**
 * What went wrong when `ssh` itself failed (exit 255 with one of OpenSSH's messages), as an
 * error that names the host and says what to do. A remote command's own failure is not
 * classified here.
 *
 *   "No … host key is known for X and you have requested strict checking"  → HOST_KEY_UNKNOWN
 *   "REMOTE HOST IDENTIFICATION HAS CHANGED" / "Host key for X has changed" → HOST_KEY_CHANGED
 *   "Permission denied (publickey…)" / "Too many authentication failures" → HOST_AUTH_FAILED
 *   "connect to host … : <reason>", "Could not resolve hostname", timeouts → HOST_UNREACHABLE
 */
import {ExternalError} from '../../kit/errors.js'

export interface SshFailureContext {
  /** The spec's name for the host. */
  name: string
  /** What ssh connected to (address or alias), with the port when not 22. */
  destination: string
  /** The known_hosts file in use, when the spec names one. */
  knownHostsFile?: string
  /** The plain ssh command that reproduces the connection, for hints (`ssh -F … -i … host true`). */
  tryCommand?: string
}

/** `SHA256:…` from ssh's output (the changed-key banner or `-v`'s "Server host key:" line). */
export function fingerprintIn(text: string): string | undefined {
  return /Server host key: \S+ (SHA256:[A-Za-z0-9+/=]+)/.exec(text)?.[1] ?? /(SHA256:[A-Za-z0-9+/=]+)/.exec(text)?.[1]
}

/** The key type ssh named (`ED25519`, `ECDSA`, `RSA`). */
function keyType(text: string): string {
  return /No (\S+) host key is known/.exec(text)?.[1] ?? /The fingerprint for the (\S+) key/.exec(text)?.[1] ?? /Server host key: (\S+)/.exec(text)?.[1] ?? 'host'
}

/** Lines ssh prints that say nothing to the user of kctl. */
export function quietSshOutput(stderr: string): string {
  return stderr
    .split(/\r?\n/)
    .filter((l) => l && !/^Warning: Permanently added /.test(l) && !/^debug\d:/.test(l))
    .join('\n')
}

/**
 * The error for a failed ssh connection, or undefined when `stderr` is not one of ssh's own
 * connection failures (then the remote command failed and its caller reports that).
 * @param fingerprint the server's key fingerprint, when the caller looked it up (unknown keys)
 */
export function sshFailure(stderr: string, ctx: SshFailureContext, fingerprint?: string): ExternalError | undefined {
  const where = `host ${ctx.name} (${ctx.destination})`
  const tryIt = ctx.tryCommand ?? `ssh ${ctx.destination} true`
  const detail = quietSshOutput(stderr)
  const knownHosts = ctx.knownHostsFile ?? '~/.ssh/known_hosts'
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/.test(stderr)) {
    const fp = fingerprintIn(stderr) ?? fingerprint
    const offending = /Offending \S+ key in (\S+:\d+)/.exec(stderr)?.[1]
    return new ExternalError('HOST_KEY_CHANGED', `The SSH host key of ${where} has CHANGED: it now presents ${keyType(stderr)} key ${fp ?? '(fingerprint not shown)'}, not the one recorded${offending ? ` in ${offending}` : ''}. kctl never accepts a changed key.`, detail, {
      hint: `If the host was reinstalled, check the new fingerprint with its administrator, then remove the old entry (\`ssh-keygen -R ${ctx.destination}${ctx.knownHostsFile ? ` -f ${ctx.knownHostsFile}` : ''}\`) and run again with --accept-new-host-keys. Otherwise someone may be intercepting the connection: do not go on.`,
    })
  }
  if (/host key is known for .* and you have requested strict checking|Host key verification failed/.test(stderr)) {
    const fp = fingerprint ?? fingerprintIn(stderr)
    return new ExternalError('HOST_KEY_UNKNOWN', `The SSH host key of ${where} is not known: it presents ${keyType(stderr)} key ${fp ?? '(fingerprint unavailable)'}, and ${knownHosts} has no entry for it.`, detail, {
      hint: `Check that fingerprint against the host (\`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` there), then run again with --accept-new-host-keys to record it, or add the key to ${knownHosts} yourself.`,
    })
  }
  if (/Permission denied \(|Too many authentication failures|no mutual signature algorithm|Authentication failed/.test(stderr)) {
    const methods = /Permission denied \(([^)]*)\)/.exec(stderr)?.[1]
    return new ExternalError('HOST_AUTH_FAILED', `SSH authentication to ${where} was refused${methods ? ` (the host accepts: ${methods})` : ''}.`, detail, {
      hint: `Check the user and key for ${ctx.name} (spec.hosts[].ssh.user / identityFile, or your ssh config and agent); \`${tryIt}\` must work without a password prompt.`,
    })
  }
  const connect = /connect to host (\S+) port (\d+): (.+)/.exec(stderr)
  const resolve = /Could not resolve hostname (\S+): (.+)/.exec(stderr)
  const closed = /(Connection (?:closed|reset) by .*|kex_exchange_identification: .*|Connection timed out during banner exchange.*|banner exchange: .*)/.exec(stderr)
  const reason = connect ? connect[3].trim() : resolve ? `cannot resolve ${resolve[1]}: ${resolve[2].trim()}` : closed?.[1].trim()
  if (reason) {
    return new ExternalError('HOST_UNREACHABLE', `Can't reach ${where} over SSH (${reason.replace(/\.$/, '')}).`, detail, {
      hint: `Is the host up, its sshd running, and its address and port (spec.hosts[].ssh) right? Try \`${tryIt}\`.`,
    })
  }
  return undefined
}
