// HTTP for registry downloads: GET with retries and exponential backoff (timeouts, 5xx, 429, network
// errors; never on 404), idle and total timeouts, redirects, a response size cap, HTTP(S)_PROXY /
// NO_PROXY (absolute-form requests for http:// targets, CONNECT tunnels for https:// targets), a
// semaphore for parallelism and a stderr progress bar shown only on a TTY.
//
// Built on node:http/https rather than fetch: Node 20's fetch (undici) ignores the proxy variables and
// its ProxyAgent lives in the separate `undici` package.

import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import net from 'node:net';
import tls from 'node:tls';

export type HttpErrorKind = 'not-found' | 'status' | 'timeout' | 'network' | 'too-large' | 'proxy';

export class HttpError extends Error {
  constructor(
    readonly kind: HttpErrorKind,
    readonly url: string,
    message: string,
    readonly status: number | null = null,
    /** How many attempts were made. */
    readonly attempts = 1,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface HttpOptions {
  /** Abort a request when no data arrives for this long (ms). Default: CARGO_HTTP_TIMEOUT seconds, else 30 000. */
  timeoutMs?: number;
  /** Abort a request that takes longer than this in total (ms). Default 300 000. */
  totalTimeoutMs?: number;
  /** Retries after the first attempt. Default: CARGO_NET_RETRY, else 3. */
  retries?: number;
  /** First backoff delay (ms); doubles on each retry. Default 500. */
  backoffMs?: number;
  /** Largest response body accepted (bytes). Default 128 MiB (crates.io caps crates at 10 MiB). */
  maxBytes?: number;
  /** Environment the proxy variables are read from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  userAgent?: string;
}

export interface HttpStats {
  /** Requests sent (every attempt and redirect hop). */
  requests: number;
  /** Attempts that were retried. */
  retries: number;
  /** Response body bytes received. */
  bytes: number;
}

const RETRYABLE_STATUS = (s: number): boolean => s >= 500 || s === 429 || s === 408;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ------------------------------------------------------------------ proxy

/** Whether NO_PROXY exempts this host: `*`, exact names, `.suffix`/`*.suffix`/`suffix` domain matches, `host:port`. */
export function noProxyMatches(url: URL, noProxy: string): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (let raw of noProxy.split(/[\s,]+/)) {
    raw = raw.trim().toLowerCase();
    if (raw === '') continue;
    if (raw === '*') return true;
    let entryPort: string | null = null;
    const m = /^(.*):(\d+)$/.exec(raw);
    if (m && !raw.includes(']') && (m[1].match(/:/g) ?? []).length === 0) {
      raw = m[1];
      entryPort = m[2];
    }
    raw = raw.replace(/^\[|\]$/g, '').replace(/^\*?\./, '.');
    if (entryPort !== null && entryPort !== port) continue;
    const bare = raw.startsWith('.') ? raw.slice(1) : raw;
    if (host === bare || host.endsWith(`.${bare}`)) return true;
  }
  return false;
}

/** The proxy to use for `url` according to the environment (curl's conventions), or null. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv = process.env): URL | null {
  const pick = (...names: string[]): string | undefined => {
    for (const n of names) {
      const v = env[n];
      if (v !== undefined && v.trim() !== '') return v.trim();
    }
    return undefined;
  };
  const noProxy = pick('no_proxy', 'NO_PROXY');
  if (noProxy !== undefined && noProxyMatches(url, noProxy)) return null;
  const raw =
    url.protocol === 'https:' ? pick('https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY') : pick('http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY');
  if (raw === undefined) return null;
  let p: URL;
  try {
    p = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new HttpError('proxy', url.href, `invalid proxy URL in the environment: ${raw}`);
  }
  if (p.protocol !== 'http:') {
    throw new HttpError('proxy', url.href, `unsupported proxy ${p.protocol}//${p.host} (only http:// proxies are supported)`);
  }
  return p;
}

function proxyAuth(p: URL): Record<string, string> {
  if (!p.username) return {};
  const cred = `${decodeURIComponent(p.username)}:${decodeURIComponent(p.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(cred).toString('base64')}` };
}

/** Open a CONNECT tunnel through an http:// proxy to host:port. */
export function connectTunnel(proxy: URL, host: string, port: number, timeoutMs: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: proxy.hostname,
      port: Number(proxy.port || 80),
      method: 'CONNECT',
      path: `${host}:${port}`,
      headers: { host: `${host}:${port}`, ...proxyAuth(proxy) },
      agent: false,
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`proxy ${proxy.host} did not answer CONNECT in ${timeoutMs} ms`)));
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new HttpError('proxy', `https://${host}:${port}/`, `proxy ${proxy.host} refused CONNECT ${host}:${port} (HTTP ${res.statusCode})`));
        return;
      }
      resolve(socket);
    });
    req.on('error', (err) => reject(new HttpError('proxy', `https://${host}:${port}/`, `proxy ${proxy.host}: ${err.message}`)));
    req.end();
  });
}

// ------------------------------------------------------------------ client

/**
 * Cargo's network settings from the environment, so a CI job tuned for cargo behaves the same here:
 * CARGO_HTTP_TIMEOUT (seconds without data before a request is abandoned) and CARGO_NET_RETRY (retries
 * after the first attempt). Unset, empty or not a whole number ≥ 0 → undefined (the default applies).
 */
export function cargoEnvNumber(env: NodeJS.ProcessEnv, name: 'CARGO_HTTP_TIMEOUT' | 'CARGO_NET_RETRY', scale: number): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || !/^\d{1,6}$/.test(raw)) return undefined;
  const n = Number(raw) * scale;
  return name === 'CARGO_HTTP_TIMEOUT' && n === 0 ? undefined : n;
}

export class HttpClient {
  readonly stats: HttpStats = { requests: 0, retries: 0, bytes: 0 };
  private readonly o: Required<Omit<HttpOptions, 'env'>> & { env: NodeJS.ProcessEnv };

  constructor(opts: HttpOptions = {}) {
    const env = opts.env ?? process.env;
    this.o = {
      timeoutMs: opts.timeoutMs ?? cargoEnvNumber(env, 'CARGO_HTTP_TIMEOUT', 1000) ?? 30_000,
      totalTimeoutMs: opts.totalTimeoutMs ?? 300_000,
      retries: opts.retries ?? cargoEnvNumber(env, 'CARGO_NET_RETRY', 1) ?? 3,
      backoffMs: opts.backoffMs ?? 500,
      maxBytes: opts.maxBytes ?? 128 * 1024 * 1024,
      env,
      userAgent: opts.userAgent ?? 'cap-scan (+https://github.com/cap-scan)',
    };
  }

  /**
   * GET `url`, following redirects, retrying transient failures. Resolves with the body of a 200.
   * Throws HttpError (kind `not-found` for 404/410, without retrying).
   */
  async get(url: string, onBytes?: (n: number) => void): Promise<Buffer> {
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        return await this.followRedirects(url, onBytes);
      } catch (err) {
        const e = err instanceof HttpError ? err : new HttpError('network', url, String((err as Error)?.message ?? err));
        const transient = e.kind === 'timeout' || e.kind === 'network' || (e.kind === 'status' && e.status !== null && RETRYABLE_STATUS(e.status));
        if (!transient || attempt > this.o.retries) {
          throw new HttpError(e.kind, e.url, attempt > 1 ? `${e.message} (after ${attempt} attempts)` : e.message, e.status, attempt);
        }
        this.stats.retries++;
        await sleep(this.o.backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  private async followRedirects(url: string, onBytes?: (n: number) => void): Promise<Buffer> {
    let current = new URL(url);
    for (let hop = 0; hop <= 5; hop++) {
      const r = await this.once(current, onBytes);
      if ('redirect' in r) {
        current = new URL(r.redirect, current);
        if (current.protocol !== 'https:' && current.protocol !== 'http:') {
          throw new HttpError('status', url, `redirect to unsupported URL ${current.href}`);
        }
        continue;
      }
      return r.body;
    }
    throw new HttpError('status', url, `too many redirects from ${url}`);
  }

  private async once(url: URL, onBytes?: (n: number) => void): Promise<{ body: Buffer } | { redirect: string }> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HttpError('status', url.href, `unsupported URL ${url.href}`);
    const proxy = proxyFor(url, this.o.env);
    const secure = url.protocol === 'https:';
    const port = Number(url.port || (secure ? 443 : 80));
    const headers: Record<string, string> = { 'user-agent': this.o.userAgent, accept: '*/*' };
    let options: http.RequestOptions;
    if (proxy && !secure) {
      // Absolute-form request to the proxy.
      options = { host: proxy.hostname, port: Number(proxy.port || 80), path: url.href, headers: { ...headers, host: url.host, ...proxyAuth(proxy) }, agent: false };
    } else if (proxy && secure) {
      const socket = await connectTunnel(proxy, url.hostname, port, this.o.timeoutMs);
      options = {
        host: url.hostname,
        port,
        path: url.pathname + url.search,
        headers,
        // No `agent` key at all: node only honours `createConnection` when the agent is unset.
        createConnection: () => tls.connect({ socket, ...(net.isIP(url.hostname) ? {} : { servername: url.hostname }) }),
      } as http.RequestOptions;
    } else {
      options = { host: url.hostname, port, path: url.pathname + url.search, headers, agent: false };
    }
    this.stats.requests++;
    const mod = secure ? https : http;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: HttpError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(total);
        req.destroy();
        reject(err);
      };
      const total = setTimeout(
        () => fail(new HttpError('timeout', url.href, `${url.href}: timed out after ${this.o.totalTimeoutMs} ms`)),
        this.o.totalTimeoutMs,
      );
      const req = mod.request({ ...options, method: 'GET', servername: secure && !net.isIP(url.hostname) ? url.hostname : undefined } as https.RequestOptions, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          settled = true;
          clearTimeout(total);
          resolve({ redirect: res.headers.location });
          return;
        }
        if (status !== 200) {
          res.resume();
          if (status === 404 || status === 410) fail(new HttpError('not-found', url.href, `${url.href}: not found (HTTP ${status})`, status));
          else fail(new HttpError('status', url.href, `${url.href}: HTTP ${status}`, status));
          return;
        }
        const declared = Number(res.headers['content-length'] ?? NaN);
        if (declared > this.o.maxBytes) {
          res.resume();
          fail(new HttpError('too-large', url.href, `${url.href}: response of ${declared} bytes exceeds the ${this.o.maxBytes}-byte limit`));
          return;
        }
        const chunks: Buffer[] = [];
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          this.stats.bytes += c.length;
          onBytes?.(c.length);
          if (got > this.o.maxBytes) {
            fail(new HttpError('too-large', url.href, `${url.href}: response exceeds the ${this.o.maxBytes}-byte limit`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          if (settled) return;
          if (!Number.isNaN(declared) && got !== declared) {
            fail(new HttpError('network', url.href, `${url.href}: connection closed after ${got} of ${declared} bytes`));
            return;
          }
          settled = true;
          clearTimeout(total);
          resolve({ body: Buffer.concat(chunks) });
        });
        res.on('aborted', () => fail(new HttpError('network', url.href, `${url.href}: connection closed mid-response`)));
        res.on('error', (err) => fail(new HttpError('network', url.href, `${url.href}: ${err.message}`)));
      });
      req.setTimeout(this.o.timeoutMs, () =>
        fail(new HttpError('timeout', url.href, `${url.href}: no response for ${this.o.timeoutMs} ms`)),
      );
      req.on('error', (err: NodeJS.ErrnoException) =>
        fail(new HttpError('network', url.href, `${url.href}: ${err.message || err.code}`)),
      );
      req.end();
    });
  }
}

// ------------------------------------------------------------------ concurrency

export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Highest number of tasks that ran at once (for tests and stats). */
  peak = 0;

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new Error(`semaphore limit must be >= 1, got ${limit}`);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

// ------------------------------------------------------------------ progress

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** `Downloading [#####-----] 3/8 crates, 1.2 MiB` on one stderr line, redrawn; silent unless a TTY. */
export class Progress {
  total = 0;
  done = 0;
  bytes = 0;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    readonly enabled: boolean = !!stream.isTTY,
  ) {}

  add(n = 1): void {
    this.total += n;
    this.draw();
  }

  addBytes(n: number): void {
    this.bytes += n;
    this.draw();
  }

  finishOne(): void {
    this.done++;
    if (this.done >= this.total) this.clear();
    else this.draw(true);
  }

  line(width = 24): string {
    const frac = this.total === 0 ? 0 : this.done / this.total;
    const filled = Math.round(frac * width);
    return `Downloading [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.done}/${this.total} crates, ${human(this.bytes)}`;
  }

  private draw(force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.stream.write(`\r${this.line()}\x1b[K`);
    this.drawn = true;
  }

  clear(): void {
    if (!this.enabled || !this.drawn) return;
    this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
