/**
 * kong.conf `admin_gui_url`: the origins the Admin API allows (Kong's internal
 * `admin_gui_origin`: each URL's scheme and authority, its path dropped). kctl has no
 * Admin GUI; the setting only names the origins a browser may call the Admin API from.
 */

/** The origins, in the order given; an empty list allows the request's own Origin (else `*`). */
export function adminGuiOrigins(urls: readonly string[]): string[] {
  return urls.map((u) => {
    const url = new URL(u)
    return `${url.protocol}//${url.host}`
  })
}

/** A URL with no scheme or no host names no origin. */
export function adminGuiUrlErrors(urls: readonly string[]): string[] {
  const errors: string[] = []
  for (const u of urls) {
    let ok = false
    try {
      const url = new URL(u)
      ok = (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== ''
    } catch {
      ok = false
    }
    if (!ok) errors.push(`admin_gui_url has an invalid value: '${u}' (a URL with scheme and host, such as http://admin.example.com:8002)`)
  }
  return errors
}
