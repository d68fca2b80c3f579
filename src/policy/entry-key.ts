// The key of an allow entry (`name` or `name@req`), in a module of its own: report filters split keys
// without loading the policy parser (and its TOML and semver dependencies).

/** Splits an allow key into name and semver requirement. */
export function splitEntryKey(key: string): { name: string; req: string | null } {
  const at = key.indexOf('@');
  if (at < 0) return { name: key, req: null };
  return { name: key.slice(0, at), req: key.slice(at + 1) };
}
