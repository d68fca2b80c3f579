// What `cap-scan batch enqueue` puts on the queue: one job per crate version, from a Cargo.lock, a
// directory of unpacked crates (a vendor directory, Debian's /usr/share/cargo/registry) or a sparse
// index. The job id is `name@version`, plus `#checksum` when there is one, so enqueuing the same list
// twice (or from two machines) adds nothing: BullMQ ignores an add whose id already exists. Each job also
// names its dependencies among the list (link.ts), and the list comes in dependency order.

import { readdir } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { readLockfile, resolveLockDep } from '../project/lockfile.js';
import { isSha256 } from '../sources/download-cache.js';
import { HttpClient } from '../sources/download.js';
import { readManifestIdentity } from '../sources/local.js';
import { RegistryClient, normalizeIndexUrl } from '../sources/registry.js';
import { UserError } from '../types.js';
import { cmp } from '../util/compare.js';
import { MAX_TOML_BYTES, readRegularText } from '../util/fs-safe.js';
import { type BatchDep, type DepRequirement, planBatch, planDirJobs, withPlan } from './link.js';

/** The data of one job (JSON in Redis). */
export interface BatchJobData {
  name: string;
  version: string;
  /** sha256 of the `.crate`, lower case; null when the list has none (a directory without one). */
  checksum: string | null;
  /** Lock-style registry source (`registry+…`, `sparse+…`) the worker downloads from; null for a directory job. */
  source: string | null;
  /** Absolute path of the unpacked crate (directory jobs); the worker must see the same path. */
  dir: string | null;
  /**
   * The crate's dependencies among the list's crates (src/batch/link.ts: resolved, cycles broken), whose
   * export tables its scan resolves through; the worker defers the job until they are stored.
   */
  deps?: BatchDep[];
}

/** Something a list named that does not become a job, and why (printed by enqueue, never silent). */
export interface Skipped {
  what: string;
  reason: string;
}

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const VERSION_RE = /^[0-9A-Za-z.+-]{1,128}$/;

/** `name@version`, `#checksum` appended when known. Never contains `:` (BullMQ refuses it in ids). */
export function jobId(d: Pick<BatchJobData, 'name' | 'version' | 'checksum'>): string {
  return `${d.name}@${d.version}${d.checksum ? `#${d.checksum}` : ''}`;
}

function checkJob(d: BatchJobData, what: string, skipped: Skipped[]): BatchJobData | null {
  if (!NAME_RE.test(d.name) || !VERSION_RE.test(d.version) || d.version.startsWith('.')) {
    skipped.push({ what, reason: `invalid crate name or version ${JSON.stringify(`${d.name} ${d.version}`)}` });
    return null;
  }
  if (d.checksum !== null && !isSha256(d.checksum)) {
    skipped.push({ what, reason: `checksum is not a sha256` });
    return null;
  }
  return d;
}

function sortJobs(jobs: BatchJobData[]): BatchJobData[] {
  const seen = new Set<string>();
  return jobs
    .sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version) || cmp(a.checksum ?? '', b.checksum ?? ''))
    .filter((j) => {
      const id = jobId(j);
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
}

/** Registry packages of a Cargo.lock (path and git packages are skipped: they have no registry identity). */
export async function jobsFromLockfile(file: string): Promise<{ jobs: BatchJobData[]; skipped: Skipped[] }> {
  const lock = await readLockfile(file);
  const jobs: BatchJobData[] = [];
  const skipped: Skipped[] = [];
  const reqs = new Map<string, DepRequirement[]>();
  for (const p of lock.packages) {
    const what = `${p.name} ${p.version}`;
    if (p.source === null) {
      skipped.push({ what, reason: 'path package (workspace member): scan it with cap-scan --manifest-path' });
      continue;
    }
    if (!p.source.startsWith('registry+') && !p.source.startsWith('sparse+')) {
      skipped.push({ what, reason: `not a registry package (${p.source.split('#')[0]})` });
      continue;
    }
    const checksum = p.checksum !== null && isSha256(p.checksum.toLowerCase()) ? p.checksum.toLowerCase() : null;
    if (checksum === null) {
      skipped.push({ what, reason: 'no sha256 checksum in Cargo.lock: nothing to verify a download against' });
      continue;
    }
    const j = checkJob({ name: p.name, version: p.version, checksum, source: p.source, dir: null }, what, skipped);
    if (j) {
      jobs.push(j);
      // the lockfile's own edges (a registry package's list names no dev-dependency: cargo never resolves them)
      const deps: DepRequirement[] = [];
      for (const ref of p.dependencies) {
        const q = resolveLockDep(lock, ref);
        if (q?.checksum) deps.push({ id: jobId({ name: q.name, version: q.version, checksum: q.checksum.toLowerCase() }) });
      }
      reqs.set(jobId(j), deps);
    }
  }
  return { jobs: planned(sortJobs(jobs), reqs), skipped };
}

/** The jobs with their dependencies planned among themselves, in dependency order. */
function planned(jobs: BatchJobData[], reqs: Map<string, DepRequirement[]>): BatchJobData[] {
  const plan = planBatch(jobs.map((j) => ({ id: jobId(j), name: j.name, version: j.version, deps: reqs.get(jobId(j)) ?? [] })));
  return withPlan(jobs, plan, jobId);
}

/** The `package` checksum of a vendored crate's `.cargo-checksum.json`, when it is a sha256. */
async function vendoredChecksum(dir: string): Promise<string | null> {
  try {
    const text = await readRegularText(path.join(dir, '.cargo-checksum.json'), { maxBytes: MAX_TOML_BYTES });
    const pkg = (JSON.parse(text) as { package?: unknown }).package;
    return typeof pkg === 'string' && isSha256(pkg.toLowerCase()) ? pkg.toLowerCase() : null;
  } catch {
    return null;
  }
}

/** Every subdirectory of `root` whose Cargo.toml has a package name and version. */
export async function jobsFromDir(root: string): Promise<{ jobs: BatchJobData[]; skipped: Skipped[] }> {
  const abs = path.resolve(root);
  let entries;
  try {
    entries = await readdir(abs, { withFileTypes: true });
  } catch (e) {
    throw new UserError(`--dir ${root}: cannot read the directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const jobs: BatchJobData[] = [];
  const skipped: Skipped[] = [];
  for (const e of entries.sort((a, b) => cmp(a.name, b.name))) {
    if (e.isSymbolicLink()) {
      skipped.push({ what: e.name, reason: 'a symbolic link (not followed: pass the directory it points to)' });
      continue;
    }
    if (!e.isDirectory()) continue;
    const dir = path.join(abs, e.name);
    const id = await readManifestIdentity(dir);
    if (id === null || typeof id.version !== 'string') {
      skipped.push({ what: e.name, reason: id === null ? 'no readable Cargo.toml with a [package] name' : 'Cargo.toml has no literal version' });
      continue;
    }
    const j = checkJob({ name: id.name, version: id.version, checksum: await vendoredChecksum(dir), source: null, dir }, e.name, skipped);
    if (j) jobs.push(j);
  }
  if (jobs.length === 0 && skipped.length === 0) throw new UserError(`--dir ${root}: no crate directories in it`);
  return { jobs: (await planDirJobs(sortJobs(jobs))).jobs, skipped };
}

/** Every non-yanked version (or the newest with `latest`) of each named crate in a sparse index. */
export async function jobsFromIndex(
  indexUrl: string,
  names: readonly string[],
  opts: { latest: boolean; http?: HttpClient },
): Promise<{ jobs: BatchJobData[]; skipped: Skipped[] }> {
  if (names.length === 0) throw new UserError('--index needs crate names: cap-scan batch enqueue --index URL NAME...');
  const url = normalizeIndexUrl(indexUrl);
  const reg = new RegistryClient(url, opts.http ?? new HttpClient({}));
  const jobs: BatchJobData[] = [];
  const skipped: Skipped[] = [];
  const reqs = new Map<string, DepRequirement[]>();
  for (const name of names) {
    if (!NAME_RE.test(name)) throw new UserError(`not a crate name: ${JSON.stringify(name)}`);
    const entries = (await reg.entries(name)).filter((e) => !e.yanked);
    if (entries.length === 0) {
      skipped.push({ what: name, reason: `not in the index ${url} (or every version is yanked)` });
      continue;
    }
    const valid = entries.filter((e) => semver.valid(e.vers) !== null);
    const newest = valid.reduce<typeof valid[number] | null>((best, e) => (best === null || semver.gt(e.vers, best.vers) ? e : best), null);
    const chosen = opts.latest ? (newest ? [newest] : []) : entries;
    for (const e of chosen) {
      const j = checkJob({ name: e.name, version: e.vers, checksum: e.cksum.toLowerCase(), source: `sparse+${url}`, dir: null }, `${e.name} ${e.vers}`, skipped);
      if (!j) continue;
      jobs.push(j);
      reqs.set(jobId(j), e.deps.filter((d) => d.kind !== 'dev').map((d) => ({ package: d.package ?? d.name, req: d.req })));
    }
  }
  return { jobs: planned(sortJobs(jobs), reqs), skipped };
}
