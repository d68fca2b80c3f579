// Hosts of concrete URLs (found in a crate, or in a report). The host part of an allowlist URL
// *pattern* (which may hold globs) is another thing: see hostOfUrlPattern in policy.ts.

const HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._~-]*[A-Za-z0-9_])?$/;
const IPV6_BRACKET = /^\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9._~-]+)?\]$/;

/**
 * The lower-cased host of a URL's authority, without userinfo and port, and an IPv6 literal without its
 * brackets (`http://[::1]:8080/x` → `::1`); null when the URL has no usable host (empty, a template
 * placeholder such as `https://{}/x` or `http://%s`).
 */
export function hostOfUrl(url: string): string | null {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url);
  if (!m) return null;
  let authority = m[1]!;
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return null;
    const host = authority.slice(0, close + 1);
    if (!IPV6_BRACKET.test(host)) return null;
    return host.slice(1, -1).toLowerCase();
  }
  const colon = authority.indexOf(':');
  const host = colon >= 0 ? authority.slice(0, colon) : authority;
  if (!HOST_RE.test(host)) return null;
  return host.toLowerCase();
}
