// The Redis connection of `cap-scan batch`: the --queue URL checked before anything connects, and one
// bounded reachability check (a PING) so an unreachable or wrong server is a one-line error within a few
// seconds, not ioredis retrying forever. BullMQ gets plain connection options and makes its own clients.

import type { RedisOptions } from 'bullmq';
import { Redis, type RedisOptions as IoRedisOptions } from 'ioredis';
import { UserError } from '../types.js';

export { DEFAULT_QUEUE_NAME, DEFAULT_QUEUE_URL } from './defaults.js';
/** How long the reachability check waits for a connection and a PING reply (ms). */
export const CONNECT_TIMEOUT_MS = 5_000;

export interface QueueTarget {
  /** The URL with any password replaced by `***` (what messages show). */
  shown: string;
  connection: RedisOptions;
  name: string;
}

/** `redis://[user[:password]@]host[:port][/db]` or `rediss://…` (TLS), checked; never echoes a password. */
export function parseQueueUrl(raw: string): RedisOptions & { shown: string } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UserError(`--queue must be a redis:// or rediss:// URL (redis://HOST:PORT[/DB]), got '${redact(raw)}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new UserError(`--queue must be a redis:// or rediss:// URL (redis://HOST:PORT[/DB]), got '${redact(raw)}'`);
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === '') throw new UserError(`--queue URL has no host: '${redact(raw)}'`);
  const port = u.port === '' ? 6379 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`--queue URL has a bad port: '${redact(raw)}'`);
  const dbText = u.pathname.replace(/^\/+/, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!/^\d*$/.test(dbText) || !Number.isInteger(db) || db > 15) throw new UserError(`--queue URL database must be a number from 0 to 15, got '${dbText}'`);
  if (u.search !== '' || u.hash !== '') throw new UserError(`--queue URL takes no query or fragment: '${redact(raw)}'`);
  const opts: RedisOptions & { shown: string } = {
    host,
    port,
    db,
    shown: redact(raw),
    ...(u.username !== '' ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password !== '' ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: { servername: host } } : {}),
  };
  return opts;
}

/** The URL with its password (if any) replaced by `***`. */
export function redact(raw: string): string {
  return raw.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/** A BullMQ queue name: letters, digits, `.`, `_`, `-` (BullMQ refuses `:`, which separates its keys). */
export function checkQueueName(name: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new UserError(`--queue-name must be 1-100 letters, digits, '.', '_' or '-', got '${name}'`);
  return name;
}

/**
 * The queue target after a bounded check that Redis answers: connection refused, a wrong host, a
 * password Redis rejects or a server that never replies are one-line UserErrors within CONNECT_TIMEOUT_MS.
 */
export async function openQueueTarget(url: string, name: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<QueueTarget> {
  const { shown, ...base } = parseQueueUrl(url);
  checkQueueName(name);
  const probe = new Redis({
    ...(base as IoRedisOptions),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  let lastError: Error | null = null;
  probe.on('error', (e: Error) => {
    lastError = e;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => {
        await probe.connect();
        await probe.ping();
      })(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    const err = (lastError ?? e) as NodeJS.ErrnoException;
    const why = err.code ? `${err.code}` : err.message.split('\n')[0];
    throw new UserError(`cannot reach redis at ${shown}: ${why} (is redis-server running? --queue redis://HOST:PORT selects it)`);
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
  return {
    shown,
    name,
    // BullMQ workers need maxRetriesPerRequest null (their blocking commands wait indefinitely);
    // reconnects are bounded by the retry strategy so a server lost mid-run ends the run, not hangs it.
    connection: {
      ...base,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: null,
      retryStrategy: (times: number) => (times > 10 ? null : Math.min(times * 200, 2_000)),
    },
  };
}
