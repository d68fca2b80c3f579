// HTTP layer: proxies (absolute-form and CONNECT, NO_PROXY), errors, size cap, semaphore, progress bar.

import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HttpClient, HttpError, Progress, Semaphore, cargoEnvNumber, connectTunnel, noProxyMatches, proxyFor } from '../src/sources/download.js';
import { RegistryServer, TestProxy, gz, rawTar, sha256 } from './helpers/registry-server.js';

let server: RegistryServer;
let proxy: TestProxy;
const tarball = gz(rawTar([{ path: 'p-1.0.0/', type: 'dir' }, { path: 'p-1.0.0/src/lib.rs', data: 'pub fn p() {}\n' }]));

beforeAll(async () => {
  server = await RegistryServer.start();
  server.publish({ name: 'p', version: '1.0.0', tarball });
  proxy = await TestProxy.start();
});

afterAll(async () => {
  await proxy.close();
  await server.close();
});

describe('proxy environment', () => {
  test('which proxy, per scheme, with NO_PROXY', () => {
    const env = { HTTPS_PROXY: 'http://proxy.corp:3128', http_proxy: 'proxy.corp:8080', NO_PROXY: 'localhost,.internal.example, 10.0.0.1:8443' };
    expect(proxyFor(new URL('https://index.crates.io/config.json'), env)?.href).toBe('http://proxy.corp:3128/');
    expect(proxyFor(new URL('http://mirror.example/x'), env)?.href).toBe('http://proxy.corp:8080/');
    expect(proxyFor(new URL('https://a.internal.example/x'), env)).toBeNull();
    expect(proxyFor(new URL('https://internal.example/x'), env)).toBeNull();
    expect(proxyFor(new URL('https://notinternal.example/x'), env)?.host).toBe('proxy.corp:3128');
    expect(proxyFor(new URL('https://10.0.0.1:8443/x'), env)).toBeNull();
    expect(proxyFor(new URL('https://10.0.0.1/x'), env)?.host).toBe('proxy.corp:3128');
    expect(proxyFor(new URL('https://x.example/'), {})).toBeNull();
    expect(noProxyMatches(new URL('https://anything/'), '*')).toBe(true);
    expect(() => proxyFor(new URL('https://x.example/'), { https_proxy: 'socks5://127.0.0.1:1080' })).toThrow(
      'unsupported proxy socks5://127.0.0.1:1080 (only http:// proxies are supported)',
    );
  });

  test('http:// targets go through the proxy in absolute form', async () => {
    const http = new HttpClient({ env: { HTTP_PROXY: proxy.url } });
    const body = await http.get(`${server.base}dl/p/1.0.0/download`);
    expect(sha256(body)).toBe(sha256(tarball));
    expect(proxy.seen).toContain(`GET ${server.base}dl/p/1.0.0/download`);
  });

  test('NO_PROXY bypasses it', async () => {
    const seen = proxy.seen.length;
    const http = new HttpClient({ env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } });
    expect(sha256(await http.get(`${server.base}dl/p/1.0.0/download`))).toBe(sha256(tarball));
    expect(proxy.seen.length).toBe(seen);
  });

  test('CONNECT tunnels (used for https:// targets) carry the request', async () => {
    const port = Number(new URL(server.base).port);
    const socket = await connectTunnel(new URL(proxy.url), '127.0.0.1', port, 2000);
    const response = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
      socket.on('end', () => resolve(text));
      socket.write(`GET /index/config.json HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    expect(response.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(proxy.seen).toContain(`CONNECT 127.0.0.1:${port}`);
  });

  test('https:// targets are tunnelled: the proxy sees CONNECT, never the target directly', async () => {
    // The registry speaks plain HTTP, so the TLS handshake inside the tunnel fails; what matters is the route.
    const port = Number(new URL(server.base).port);
    const before = server.count();
    const http = new HttpClient({ env: { HTTPS_PROXY: proxy.url }, retries: 0, timeoutMs: 2000 });
    await expect(http.get(`https://127.0.0.1:${port}/index/config.json`)).rejects.toThrow(HttpError);
    expect(proxy.seen.at(-1)).toBe(`CONNECT 127.0.0.1:${port}`);
    expect(server.count()).toBe(before); // the garbage TLS hello is not an HTTP request
  });

  test('an unreachable proxy is a clear error', async () => {
    const http = new HttpClient({ env: { HTTPS_PROXY: 'http://127.0.0.1:9' }, retries: 0 });
    await expect(http.get('https://index.crates.io/config.json')).rejects.toThrow(/^proxy 127\.0\.0\.1:9: connect ECONNREFUSED 127\.0\.0\.1:9$/);
  });
});

describe('client', () => {
  test('response size cap', async () => {
    const http = new HttpClient({ maxBytes: 100, retries: 0 });
    const err = await http.get(`${server.base}dl/p/1.0.0/download`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).message).toBe(
      `${server.base}dl/p/1.0.0/download: response of ${tarball.length} bytes exceeds the 100-byte limit`,
    );
  });

  test('4xx other than 404 is not retried; connection refused is, then reported', async () => {
    server.inject(/^\/forbidden$/, { status: 403 });
    const http = new HttpClient({ backoffMs: 1, retries: 2 });
    await expect(http.get(`${server.base}forbidden`)).rejects.toThrow(`${server.base}forbidden: HTTP 403`);
    expect(http.stats.retries).toBe(0);
    await expect(http.get('http://127.0.0.1:9/x')).rejects.toThrow('http://127.0.0.1:9/x: connect ECONNREFUSED 127.0.0.1:9 (after 3 attempts)');
    expect(http.stats.retries).toBe(2);
    server.clearFaults();
  });

  test("cargo's CARGO_HTTP_TIMEOUT (seconds) and CARGO_NET_RETRY set the defaults; explicit options win", async () => {
    expect(cargoEnvNumber({ CARGO_HTTP_TIMEOUT: '7' }, 'CARGO_HTTP_TIMEOUT', 1000)).toBe(7000);
    expect(cargoEnvNumber({ CARGO_HTTP_TIMEOUT: '0' }, 'CARGO_HTTP_TIMEOUT', 1000)).toBeUndefined();
    expect(cargoEnvNumber({ CARGO_NET_RETRY: '0' }, 'CARGO_NET_RETRY', 1)).toBe(0);
    for (const bad of ['', ' ', '-1', '1.5', 'ten', '1e3']) expect(cargoEnvNumber({ CARGO_NET_RETRY: bad }, 'CARGO_NET_RETRY', 1)).toBeUndefined();
    expect(cargoEnvNumber({}, 'CARGO_NET_RETRY', 1)).toBeUndefined();

    server.inject(/^\/slow$/, { delayMs: 1500 });
    try {
      const http = new HttpClient({ backoffMs: 1, env: { CARGO_HTTP_TIMEOUT: '1', CARGO_NET_RETRY: '1' } });
      await expect(http.get(`${server.base}slow`)).rejects.toThrow(`${server.base}slow: no response for 1000 ms (after 2 attempts)`);
      expect(http.stats).toMatchObject({ requests: 2, retries: 1 });
      const explicit = new HttpClient({ backoffMs: 1, retries: 0, env: { CARGO_NET_RETRY: '5' } });
      await expect(explicit.get('http://127.0.0.1:9/x')).rejects.toThrow('http://127.0.0.1:9/x: connect ECONNREFUSED 127.0.0.1:9');
      expect(explicit.stats.retries).toBe(0);
    } finally {
      server.clearFaults();
    }
  });
});

describe('semaphore and progress', () => {
  test('never more than the limit at once', async () => {
    const s = new Semaphore(3);
    let now = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        s.run(async () => {
          now++;
          max = Math.max(max, now);
          await new Promise((r) => setTimeout(r, 2));
          now--;
        }),
      ),
    );
    expect(max).toBe(3);
    expect(s.peak).toBe(3);
  });

  const sink = () => {
    const out: string[] = [];
    const w = new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) }) as unknown as NodeJS.WriteStream;
    return { out, w };
  };

  test('a TTY gets a redrawn line (crates done/total, bytes), cleared at the end', () => {
    const { out, w } = sink();
    const p = new Progress(w, true);
    p.add();
    p.add();
    p.addBytes(1536);
    p.finishOne();
    expect(p.line(10)).toBe('Downloading [#####-----] 1/2 crates, 1.5 KiB');
    p.finishOne();
    expect(out[0]).toBe('\rDownloading [------------------------] 0/1 crates, 0 B\x1b[K');
    expect(out.at(-1)).toBe('\r\x1b[K');
  });

  test('not a TTY: silent', () => {
    const { out, w } = sink();
    const p = new Progress(w, false);
    p.add();
    p.addBytes(10);
    p.finishOne();
    expect(out).toEqual([]);
  });
});
