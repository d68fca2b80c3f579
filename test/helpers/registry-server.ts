// A real crate registry on 127.0.0.1 for tests: a sparse index (`config.json` + index files at
// `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…` paths) and `.crate` downloads, with request counting and
// fault injection (HTTP status codes, delays, wrong bytes, dropped connections).
// Also: builders for `.crate` tarballs, well-formed (node-tar) and hostile (hand-written tar headers).

import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import net from 'node:net';
import { gzipSync, constants as zc } from 'node:zlib';
import { create as tarCreate } from 'tar';

// ------------------------------------------------------------------ tarball builders

/** Build a `.crate` (gzip'd tar, `name-version/` prefix) from a fixture crate directory, with node-tar. */
export async function buildCrate(srcDir: string, name: string, version: string): Promise<Buffer> {
  const { readdir } = await import('node:fs/promises');
  const files = (await readdir(srcDir, { recursive: true, withFileTypes: true }))
    .filter((d) => d.isFile())
    .map((d) => `${d.parentPath ?? (d as unknown as { path: string }).path}/${d.name}`.slice(srcDir.length + 1))
    .sort();
  const chunks: Buffer[] = [];
  const stream = tarCreate(
    {
      gzip: true,
      cwd: srcDir,
      portable: true,
      mtime: new Date('2020-01-01T00:00:00Z'),
      prefix: `${name}-${version}`,
    },
    files,
  );
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

export interface RawEntry {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'chardev';
  data?: Buffer | string;
  /** Declared size when no data is given (the caller then streams the body itself). */
  size?: number;
  linkpath?: string;
  mode?: number;
}

const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', chardev: '3', dir: '5', fifo: '6' } as const;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One ustar header block, written by hand so that hostile paths reach the archive unchanged. */
export function tarHeader(e: RawEntry): Buffer {
  const h = Buffer.alloc(512, 0);
  const type = e.type ?? 'file';
  const size = type === 'file' ? (e.data !== undefined ? Buffer.byteLength(e.data) : (e.size ?? 0)) : 0;
  if (Buffer.byteLength(e.path) > 100) throw new Error(`test tar: path too long: ${e.path}`);
  h.write(e.path, 0, 100, 'utf8');
  h.write(octal(e.mode ?? (type === 'dir' ? 0o755 : 0o644), 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii');
  h.write(octal(0, 8), 116, 8, 'ascii');
  h.write(octal(size, 12), 124, 12, 'ascii');
  h.write(octal(1577836800, 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write(TYPEFLAG[type], 156, 1, 'ascii');
  if (e.linkpath) h.write(e.linkpath, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

function padding(size: number): Buffer {
  const rem = size % 512;
  return Buffer.alloc(rem === 0 ? 0 : 512 - rem, 0);
}

/** An uncompressed tar archive of the given entries (with the two end-of-archive blocks). */
export function rawTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e));
    if ((e.type ?? 'file') === 'file' && e.data !== undefined) {
      const d = Buffer.from(e.data);
      parts.push(d, padding(d.length));
    }
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}

export function gz(buf: Buffer): Buffer {
  return gzipSync(buf, { level: 6 });
}

/**
 * A gzip'd tar holding one file of `size` zero bytes (a decompression bomb), built without ever
 * holding more than 64 MiB of zeros: the zeros are compressed once per 64 MiB block and the gzip
 * members are concatenated (a multi-member gzip stream is one valid gzip stream, RFC 1952 §2.2).
 */
export function zeroBombCrate(name: string, version: string, size: number): Buffer {
  const BLOCK = 64 * 1024 * 1024;
  const parts: Buffer[] = [
    gzipSync(Buffer.concat([tarHeader({ path: `${name}-${version}/`, type: 'dir' }), tarHeader({ path: `${name}-${version}/zeros.bin`, size })])),
  ];
  const full = Math.floor(size / BLOCK);
  if (full > 0) {
    const zeros = Buffer.alloc(BLOCK, 0);
    const member = gzipSync(zeros, { level: 9, strategy: zc.Z_DEFAULT_STRATEGY });
    for (let i = 0; i < full; i++) parts.push(member);
  }
  const rest = size - full * BLOCK;
  parts.push(gzipSync(Buffer.concat([Buffer.alloc(rest, 0), padding(size), Buffer.alloc(1024, 0)])));
  return Buffer.concat(parts);
}

/** A gzip'd tar with `count` empty files under `name-version/f/`. */
export function manyFilesCrate(name: string, version: string, count: number): Buffer {
  const root = `${name}-${version}`;
  const blocks: Buffer[] = [tarHeader({ path: `${root}/`, type: 'dir' }), tarHeader({ path: `${root}/f/`, type: 'dir' })];
  for (let i = 0; i < count; i++) blocks.push(tarHeader({ path: `${root}/f/${i}`, data: '' }));
  blocks.push(Buffer.alloc(1024, 0));
  return gzipSync(Buffer.concat(blocks), { level: 1 });
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

// ------------------------------------------------------------------ registry server

export interface IndexDep {
  name: string;
  req: string;
  features?: string[];
  optional?: boolean;
  default_features?: boolean;
  target?: string | null;
  kind?: 'normal' | 'dev' | 'build';
  package?: string;
}

export interface PublishedCrate {
  name: string;
  version: string;
  tarball: Buffer;
  deps?: IndexDep[];
  yanked?: boolean;
  /** Checksum written to the index (default: the tarball's sha256). */
  cksum?: string;
}

export interface Fault {
  /** Respond with this status instead of serving. */
  status?: number;
  /** How many matching requests the fault applies to (default: all). */
  times?: number;
  /** Delay before responding, in ms. */
  delayMs?: number;
  /** Serve these bytes instead of the real body. */
  body?: Buffer;
  /** With `status` 3xx: the Location header. */
  location?: string;
  /** Destroy the socket without a response. */
  drop?: boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
}

/** Index path of a crate name, as the registry index format defines it. */
export function indexPath(name: string): string {
  const n = name.toLowerCase();
  if (n.length === 1) return `1/${n}`;
  if (n.length === 2) return `2/${n}`;
  if (n.length === 3) return `3/${n[0]}/${n}`;
  return `${n.slice(0, 2)}/${n.slice(2, 4)}/${n}`;
}

export class RegistryServer {
  readonly requests: RequestRecord[] = [];
  private readonly crates = new Map<string, PublishedCrate[]>();
  private readonly faults: { match: RegExp; fault: Fault; used: number }[] = [];
  private readonly sockets = new Set<Socket>();
  /** `dl` template served in config.json; `{base}` is replaced by the server's base URL. */
  dlTemplate = '{base}dl/{crate}/{version}/download';

  private constructor(
    private readonly server: http.Server,
    readonly base: string,
  ) {}

  static async start(): Promise<RegistryServer> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const reg = new RegistryServer(server, `http://127.0.0.1:${port}/`);
    server.on('connection', (s) => {
      reg.sockets.add(s);
      s.on('close', () => reg.sockets.delete(s));
    });
    server.on('request', (req, res) => void reg.handle(req, res));
    return reg;
  }

  /** Sparse index base URL (what `--registry-url` takes). */
  get indexUrl(): string {
    return `${this.base}index/`;
  }

  publish(c: PublishedCrate): void {
    const key = c.name.toLowerCase();
    const list = this.crates.get(key) ?? [];
    list.push(c);
    this.crates.set(key, list);
  }

  inject(match: RegExp, fault: Fault): void {
    this.faults.push({ match, fault, used: 0 });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  count(match?: RegExp): number {
    return this.requests.filter((r) => !match || match.test(r.path)).length;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const p = url.pathname;
    const record: RequestRecord = { method: req.method ?? 'GET', path: p, status: 0 };
    this.requests.push(record);
    const send = (status: number, body: Buffer | string, type = 'application/octet-stream'): void => {
      record.status = status;
      const b = Buffer.from(body);
      res.writeHead(status, { 'content-type': type, 'content-length': String(b.length) });
      res.end(b);
    };
    const fault = this.faults.find((f) => f.match.test(p) && (f.fault.times === undefined || f.used < f.fault.times));
    if (fault) {
      fault.used++;
      if (fault.fault.delayMs) await new Promise((r) => setTimeout(r, fault.fault.delayMs));
      if (res.destroyed) return;
      if (fault.fault.drop) {
        record.status = -1;
        req.socket.destroy();
        return;
      }
      if (fault.fault.location) {
        record.status = fault.fault.status ?? 302;
        res.writeHead(record.status, { location: fault.fault.location, 'content-length': '0' });
        res.end();
        return;
      }
      if (fault.fault.status) return send(fault.fault.status, `injected ${fault.fault.status}`, 'text/plain');
      if (fault.fault.body) return send(200, fault.fault.body);
    }
    if (p === '/index/config.json') {
      return send(200, JSON.stringify({ dl: this.dlTemplate.replace('{base}', this.base), api: this.base }), 'application/json');
    }
    if (p.startsWith('/index/')) {
      const name = p.slice('/index/'.length).split('/').pop() ?? '';
      const list = this.crates.get(name);
      if (!list || `/index/${indexPath(name)}` !== p) return send(404, 'not found', 'text/plain');
      const lines = list.map((c) =>
        JSON.stringify({
          name: c.name,
          vers: c.version,
          deps: (c.deps ?? []).map((d) => ({
            name: d.name,
            req: d.req,
            features: d.features ?? [],
            optional: d.optional ?? false,
            default_features: d.default_features ?? true,
            target: d.target ?? null,
            kind: d.kind ?? 'normal',
            ...(d.package ? { package: d.package } : {}),
          })),
          cksum: c.cksum ?? sha256(c.tarball),
          features: {},
          yanked: c.yanked ?? false,
        }),
      );
      return send(200, lines.join('\n') + '\n', 'text/plain');
    }
    // Any other path: a download; find the crate by matching the dl template.
    for (const list of this.crates.values()) {
      for (const c of list) {
        const expected = new URL(expandTemplate(this.dlTemplate.replace('{base}', this.base), c)).pathname;
        if (expected === p) return send(200, c.tarball);
      }
    }
    return send(404, 'not found', 'text/plain');
  }
}

function expandTemplate(t: string, c: PublishedCrate): string {
  if (!/\{(crate|version|prefix|lowerprefix|sha256-checksum)\}/.test(t)) t = t.replace(/\/?$/, '/{crate}/{version}/download');
  const prefix = indexPath(c.name).split('/').slice(0, -1).join('/');
  return t
    .replaceAll('{crate}', c.name)
    .replaceAll('{version}', c.version)
    .replaceAll('{prefix}', prefix)
    .replaceAll('{lowerprefix}', prefix.toLowerCase())
    .replaceAll('{sha256-checksum}', c.cksum ?? sha256(c.tarball));
}

// ------------------------------------------------------------------ forward proxy

/** A minimal HTTP proxy (absolute-form GETs and CONNECT tunnels) that records what it was asked. */
export class TestProxy {
  readonly seen: string[] = [];
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<TestProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TestProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => {
      proxy.seen.push(`${req.method} ${req.url}`);
      const target = new URL(req.url ?? '');
      const up = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(up);
    });
    server.on('connect', (req, client: Socket, head: Buffer) => {
      proxy.seen.push(`CONNECT ${req.url}`);
      const [host, port] = (req.url ?? '').split(':');
      const up = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length) up.write(head);
        up.pipe(client);
        client.pipe(up);
      });
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    });
    return proxy;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
