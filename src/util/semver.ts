// Cargo version requirements.

import semver from 'semver';
import { UserError } from '../types.js';

/**
 * Cargo requirement syntax → node-semver range: a bare version (`1.2`) is a caret requirement in cargo,
 * commas separate conjunctions, and operators may be followed by spaces. An empty part or a result
 * node-semver cannot read is a UserError.
 */
export function cargoReqToRange(req: string): string {
  const out: string[] = [];
  for (const p of req.split(',').map((s) => s.trim())) {
    if (p === '') throw new UserError(`invalid version requirement ${JSON.stringify(req)}`);
    out.push(/^\d/.test(p) ? `^${p}` : p.replace(/^(>=|<=|>|<|=|\^|~)\s+/, '$1'));
  }
  const range = out.join(' ');
  if (semver.validRange(range) === null) throw new UserError(`invalid version requirement ${JSON.stringify(req)}`);
  return range;
}

/**
 * Whether `version` meets the Cargo requirement `req` (null: any). `includePrerelease: false` is Cargo's own
 * rule when it picks a version (a prerelease only for a requirement that names one); true also accepts a
 * prerelease in range (matching a locked version to the declaration it came from). An invalid one: false.
 */
export function reqMatches(version: string, req: string | null, includePrerelease = true): boolean {
  if (req === null) return includePrerelease || semver.prerelease(version, { loose: true }) === null;
  try {
    return semver.satisfies(version, cargoReqToRange(req), { includePrerelease, loose: true });
  } catch {
    return false;
  }
}
