// Remote result cache: a shared HTTP(S) store of result-cache entries, read through after the local cache.
//
// Protocol: plain `GET URL/<key>` and `PUT URL/<key>` (what nginx's WebDAV module, S3-compatible buckets
// behind a proxy or presigned URLs, and bazel-remote's /ac/ serve). 200 is an entry, 404/410 a miss; any
// other answer, a network error or a timeout is a failure. A network error or 5xx is retried once (a
// timeout is not: asking again would cost another full timeout); after `breakerThreshold` failures in a
// row the remote is not asked again for the rest of the run (circuit breaker). A stalled store so costs
// about ceil(threshold / concurrent crates) timeouts of delay (one, with the CLI's worker pool), never the scan.
//
// Trust: whoever can write the store could plant a clean result for a malicious crate, so every remote
// entry is authenticated with HMAC-SHA256 under the key in CAP_SCAN_CACHE_KEY, over the cache key and the
// whole local-format entry. Without a key nothing is read or uploaded (an entry could not be verified);
// an entry that fails verification is ignored and the crate recomputed. Either is said once on stderr.
//
// Remote entry: `cap-scan-remote 1 <hmac hex>\n<local entry>` (the local entry as result-cache.ts writes it).

import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { UserError } from '../types.js';

export interface RemoteCacheOptions {
  /** Base URL; entries are `<url>/<key>`. */
  url: string;
  /** HMAC key (CAP_SCAN_CACHE_KEY); null: the remote is not used at all. */
  key: string | null;
  /** Never upload. */
  readOnly: boolean;
  /** Connection set-up limit per request (ms). */
  connectTimeoutMs?: number;
  /** Whole-request limit (ms), headers and body. */
  timeoutMs?: number;
  /** Retries after a failed attempt. */
  retries?: number;
  /** Failures in a row after which the remote is not used any more in this run. */
  breakerThreshold?: number;
  /** Largest entry accepted (bytes); a larger answer is not read on. */
  maxEntryBytes?: number;
  /** Warnings (once each); absent: silent (-q). */
  warn?: (message: string) => void;
}

export interface RemoteStats {
  /** Verified entries downloaded. */
  hits: number;
  /** 404s. */
  misses: number;
  /** Entries downloaded but not trusted (bad HMAC, malformed, too large, wrong key). */
  rejected: number;
  uploads: number;
  /** Requests that failed (every attempt: status, network, timeout). */
  failures: number;
  /** Requests not sent because the breaker was open. */
  skipped: number;
}

export const REMOTE_DEFAULTS = { connectTimeoutMs: 2000, timeoutMs: 4000, retries: 1, breakerThreshold: 3, maxEntryBytes: 64 * 1024 * 1024 };
/** Shortest accepted CAP_SCAN_CACHE_KEY (characters): a guessable key authenticates nothing. */
export const MIN_KEY_LENGTH = 16;
const MAGIC = 'cap-scan-remote 1';
const HMAC_DOMAIN = 'cap-scan remote cache entry v1\n';

/** The URL without user:password (for messages). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.href.replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * What an HMAC seals: the remote cache's entries, or `batch worker`'s stored results (src/batch/store.ts).
 * Each kind has its own first line and its own MAC domain, so an entry of one kind never verifies as the other.
 */
export interface SealKind {
  magic: string;
  domain: string;
  what: string;
}
export const REMOTE_ENTRY: SealKind = { magic: MAGIC, domain: HMAC_DOMAIN, what: 'cap-scan remote entry' };

export function entryMac(secret: string, key: string, entry: string, kind: SealKind = REMOTE_ENTRY): string {
  return createHmac('sha256', secret).update(kind.domain).update(key).update('\n').update(entry).digest('hex');
}

/** The sealed form of an entry (`<magic> <hmac hex>\n<entry>`), authenticated with `key` (the cache key, the job id). */
export function sealEntry(secret: string, key: string, entry: string, kind: SealKind = REMOTE_ENTRY): string {
  return `${kind.magic} ${entryMac(secret, key, entry, kind)}\n${entry}`;
}

/** The entry inside a sealed one, or why it is not trusted. */
export function openEntry(secret: string, key: string, body: string, kind: SealKind = REMOTE_ENTRY): { entry: string } | { rejected: string } {
  const nl = body.indexOf('\n');
  const head = nl < 0 ? '' : body.slice(0, nl);
  const m = head.startsWith(`${kind.magic} `) ? /^([0-9a-f]{64})$/.exec(head.slice(kind.magic.length + 1)) : null;
  if (!m) return { rejected: `not a ${kind.what}` };
  const entry = body.slice(nl + 1);
  const want = Buffer.from(entryMac(secret, key, entry, kind), 'hex');
  if (!timingSafeEqual(want, Buffer.from(m[1]!, 'hex'))) return { rejected: 'HMAC mismatch (tampered, or written with another key)' };
  return { entry };
}

/** Validates a remote cache URL (http/https, no query or fragment); the base without a trailing slash. */
export function checkRemoteUrl(url: string, where: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`${where}: not a URL: ${JSON.stringify(url)} (expected http://host/path or https://host/path)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UserError(`${where}: only http:// and https:// remote caches are supported, got ${u.protocol}//`);
  if (u.search || u.hash) throw new UserError(`${where}: the URL must not have a query or fragment (entries are <url>/<key>)`);
  return u.href.replace(/\/+$/, '');
}

type Outcome = { status: number; body: Buffer | null } | { error: string; timeout?: boolean };

export class RemoteCache {
  readonly stats: RemoteStats = { hits: 0, misses: 0, rejected: 0, uploads: 0, failures: 0, skipped: 0 };
  readonly url: string;
  readonly readOnly: boolean;
  private readonly secret: string;
  private readonly o: Required<Omit<RemoteCacheOptions, 'warn' | 'key' | 'url' | 'readOnly'>>;
  private readonly warn: (message: string) => void;
  private inARow = 0;
  private open = false;
  private warned = new Set<string>();
  private readonly agent: http.Agent;

  constructor(opts: RemoteCacheOptions & { key: string }) {
    this.url = opts.url.replace(/\/+$/, '');
    this.secret = opts.key;
    this.readOnly = opts.readOnly;
    this.o = {
      connectTimeoutMs: opts.connectTimeoutMs ?? REMOTE_DEFAULTS.connectTimeoutMs,
      timeoutMs: opts.timeoutMs ?? REMOTE_DEFAULTS.timeoutMs,
      retries: opts.retries ?? REMOTE_DEFAULTS.retries,
      breakerThreshold: opts.breakerThreshold ?? REMOTE_DEFAULTS.breakerThreshold,
      maxEntryBytes: opts.maxEntryBytes ?? REMOTE_DEFAULTS.maxEntryBytes,
    };
    this.warn = opts.warn ?? (() => {});
    const Agent = this.url.startsWith('https:') ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 8 });
  }

  private once(kind: string, message: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.warn(message);
  }

  /** Whether the breaker is open (the remote is not used any more in this run). */
  get disabled(): boolean {
    return this.open;
  }

  /** The verified local-format entry for `key`, or null (miss, failure, or not trusted). */
  async get(key: string): Promise<string | null> {
    const r = await this.request('GET', key);
    if (r === null) return null;
    if (r.status === 404 || r.status === 410) {
      this.stats.misses++;
      return null;
    }
    if (r.body === null) {
      this.reject(key, `larger than ${this.o.maxEntryBytes} bytes`);
      return null;
    }
    const opened = openEntry(this.secret, key, r.body.toString('utf8'));
    if ('rejected' in opened) {
      this.reject(key, opened.rejected);
      return null;
    }
    return opened.entry;
  }

  /** Counts a verified download (the caller decoded the entry). */
  hit(): void {
    this.stats.hits++;
  }

  /** An entry that cannot be trusted: ignored, the crate recomputed; said once. */
  reject(key: string, why: string): void {
    this.stats.rejected++;
    this.once('rejected', `remote cache entry ${redactUrl(this.url)}/${key} ignored: ${why}; the crate is scanned locally (further rejected entries are not reported)`);
  }

  /** Uploads a local-format entry (sealed with the HMAC), unless read-only. */
  async put(key: string, entry: string): Promise<void> {
    if (this.readOnly) return;
    const body = Buffer.from(sealEntry(this.secret, key, entry));
    // an entry no reader would accept is not sent (and a store's 413 would count toward the breaker)
    if (body.length > this.o.maxEntryBytes) return;
    const r = await this.request('PUT', key, body);
    if (r !== null) this.stats.uploads++;
  }

  /** One request with a retry and the breaker: the answer (200, 201, 204, 404, 410), or null (failed or skipped). */
  private async request(method: 'GET' | 'PUT', key: string, body?: Buffer): Promise<{ status: number; body: Buffer | null } | null> {
    for (let attempt = 0; attempt <= this.o.retries; attempt++) {
      if (this.open) {
        this.stats.skipped++;
        return null;
      }
      const r = await this.attempt(method, key, body);
      let error: string;
      if ('error' in r) error = r.error;
      else if (r.status === 200 || r.status === 201 || r.status === 204 || (method === 'GET' && (r.status === 404 || r.status === 410))) {
        this.inARow = 0;
        return r;
      } else error = `${method} answered HTTP ${r.status}`;
      this.stats.failures++;
      this.once('fail', `remote cache ${redactUrl(this.url)}: ${error}; the scan goes on with the local cache`);
      if (++this.inARow >= this.o.breakerThreshold && !this.open) {
        this.open = true;
        this.once('breaker', `remote cache ${redactUrl(this.url)}: ${this.inARow} failures in a row, not used for the rest of this run`);
      }
      // a client error will not get better by asking again, and a timeout would cost another full one
      if ('error' in r ? r.timeout === true : r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) return null;
    }
    return null;
  }

  private attempt(method: string, key: string, body?: Buffer): Promise<Outcome> {
    const u = new URL(`${this.url}/${encodeURIComponent(key)}`);
    const mod = u.protocol === 'https:' ? https : http;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const done = (o: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(total);
        clearTimeout(connect);
        resolve(o);
      };
      const headers: Record<string, string | number> = { 'user-agent': 'cap-scan' };
      if (body) {
        headers['content-type'] = 'application/octet-stream';
        headers['content-length'] = body.length;
      }
      if (u.username) headers['authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
      const req = mod.request(
        { protocol: u.protocol, hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || undefined, path: `${u.pathname}`, method, headers, agent: this.agent },
        (res) => {
          const status = res.statusCode ?? 0;
          if (method !== 'GET' || status !== 200) {
            res.resume();
            res.on('end', () => done({ status, body: null }));
            res.on('error', () => done({ status, body: null }));
            return;
          }
          const declared = Number(res.headers['content-length'] ?? NaN);
          if (declared > this.o.maxEntryBytes) {
            req.destroy();
            done({ status, body: null });
            return;
          }
          const chunks: Buffer[] = [];
          let n = 0;
          res.on('data', (c: Buffer) => {
            n += c.length;
            if (n > this.o.maxEntryBytes) {
              req.destroy();
              done({ status, body: null });
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => done({ status, body: Buffer.concat(chunks) }));
          res.on('error', (e) => done({ error: `GET failed: ${e.message}` }));
        },
      );
      // the timers keep the process alive while a request is out; idle keep-alive sockets do not
      const total = setTimeout(() => {
        req.destroy();
        done({ error: `${method} timed out after ${this.o.timeoutMs} ms`, timeout: true });
      }, this.o.timeoutMs);
      const connect = setTimeout(() => {
        req.destroy();
        done({ error: `${method}: no connection within ${this.o.connectTimeoutMs} ms`, timeout: true });
      }, this.o.connectTimeoutMs);
      req.on('socket', (s) => {
        s.unref();
        const connected = () => clearTimeout(connect);
        if ((s as { connecting?: boolean }).connecting) s.once(u.protocol === 'https:' ? 'secureConnect' : 'connect', connected);
        else connected();
      });
      req.on('error', (e) => done({ error: `${method} failed: ${(e as NodeJS.ErrnoException).code ?? e.message}` }));
      req.end(body);
    });
  }
}

/** Where a remote cache URL comes from, first found wins: --remote-cache, CAP_SCAN_REMOTE_CACHE, the policy table. */
export interface RemoteCacheSetting {
  url: string;
  where: string;
}

/** `remote-cache = "…"` in the root manifest's [workspace|package.metadata.cap-scan], or null. */
export function policyRemoteCache(rawManifest: unknown): RemoteCacheSetting | null {
  const raw = rawManifest as { workspace?: { metadata?: Record<string, unknown> }; package?: { metadata?: Record<string, unknown> } } | null;
  const meta = (raw?.workspace?.metadata?.['cap-scan'] ?? raw?.package?.metadata?.['cap-scan']) as Record<string, unknown> | undefined;
  const v = meta?.['remote-cache'];
  if (v === undefined) return null;
  if (typeof v !== 'string') throw new UserError(`Cargo.toml: 'remote-cache' in [*.metadata.cap-scan] must be a URL string`);
  return { url: v, where: `remote-cache in Cargo.toml` };
}

/**
 * The remote cache for a setting, or null when there is none or no key to verify entries with (said once).
 * A malformed URL or a too-short key is a UserError.
 */
export function openRemoteCache(
  setting: RemoteCacheSetting | null,
  o: { readOnly: boolean; env?: NodeJS.ProcessEnv; warn?: (m: string) => void } & Partial<RemoteCacheOptions>,
): RemoteCache | null {
  if (!setting) return null;
  const url = checkRemoteUrl(setting.url, setting.where);
  const env = o.env ?? process.env;
  const key = env.CAP_SCAN_CACHE_KEY ?? '';
  if (key === '') {
    o.warn?.(`remote cache ${redactUrl(url)} not used: CAP_SCAN_CACHE_KEY is not set, so its entries could not be verified (nothing is downloaded or uploaded)`);
    return null;
  }
  if (key.length < MIN_KEY_LENGTH) throw new UserError(`CAP_SCAN_CACHE_KEY must be at least ${MIN_KEY_LENGTH} characters (for example: openssl rand -hex 32)`);
  return new RemoteCache({ ...o, url, key, readOnly: o.readOnly });
}
