// A real nginx with WebDAV PUT on 127.0.0.1, started by a test in a temporary prefix (Debian's nginx-core,
// installed by .ci/run). `nginxBinary()` is null when nginx is not installed: the caller skips with a message.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export function nginxBinary(): string | null {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Nginx {
  url: string;
  /** Where the stored entries are (one file per key). */
  root: string;
  /** Request lines of the access log so far: `METHOD /path STATUS`. */
  requests(): string[];
  stop(): Promise<void>;
}

/** Starts nginx serving `<prefix>/store` at http://127.0.0.1:<port>/cache with GET, HEAD and PUT. */
export async function startNginx(prefix: string): Promise<Nginx> {
  const bin = nginxBinary();
  if (!bin) throw new Error('nginx is not installed');
  const root = path.join(prefix, 'store');
  mkdirSync(path.join(root, 'cache'), { recursive: true });
  mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const conf = path.join(prefix, 'nginx.conf');
    const t = path.join(prefix, 'tmp');
    writeFileSync(
      conf,
      `daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log;
events { worker_connections 256; }
http {
  log_format reqs '$request_method $uri $status';
  access_log ${prefix}/access.log reqs;
  client_body_temp_path ${t}/body;
  proxy_temp_path ${t}/proxy;
  fastcgi_temp_path ${t}/fastcgi;
  uwsgi_temp_path ${t}/uwsgi;
  scgi_temp_path ${t}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /cache/ {
      root ${root};
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      client_max_body_size 64m;
    }
  }
}
`,
    );
    const child: ChildProcess = spawn(bin, ['-p', prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // ready when the port answers
    const up = await new Promise<boolean>((resolve) => {
      const deadline = Date.now() + 5000;
      const probe = () => {
        if (child.exitCode !== null) return resolve(false);
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => {
          s.destroy();
          if (Date.now() > deadline) resolve(false);
          else setTimeout(probe, 50);
        });
      };
      probe();
    });
    if (!up) {
      child.kill('SIGKILL');
      await exited;
      if (tries < 3 && /Address already in use/.test(stderr)) continue;
      throw new Error(`nginx did not start: ${stderr.trim()}`);
    }
    return {
      url: `http://127.0.0.1:${port}/cache`,
      root: path.join(root, 'cache'),
      requests: () => {
        try {
          return readFileSync(path.join(prefix, 'access.log'), 'utf8').split('\n').filter(Boolean);
        } catch {
          return [];
        }
      },
      stop: async () => {
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
      },
    };
  }
}

/** A TCP server that accepts connections and never answers (a stalled cache). */
export async function startStallingServer(): Promise<{ url: string; connections: () => number; stop: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/cache`,
    connections: () => count,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
