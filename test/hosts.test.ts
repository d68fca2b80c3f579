// URLs and hosts: URL literals and host:port literals handed to network APIs, not comments, not tests.
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { scanCrateDir } from '../src/scan/session.js';
import { defaultScanOptions } from '../src/options.js';

const FIXTURE = resolve(__dirname, '..', 'fixtures', 'hosts', 'netcall');

describe('urls and hosts', () => {
  it('collects URL literals and host:port arguments of network calls', async () => {
    const r = await scanCrateDir(FIXTURE, defaultScanOptions());
    const c = r.crates[0]!;
    expect(c.urls).toEqual(['https://updates.example.net/v2/check?x=1']);
    // `s.connect("203.0.113.7:9089")` is a method call on a value whose type is not known statically, so
    // its literal is not attributed to a network API (the UdpSocket itself is a net finding)
    expect(c.hosts).toEqual(['0.0.0.0', 'evil.example', 'updates.example.net']);
    expect(c.findings.filter((f) => f.capability === 'net').map((f) => [f.kind, f.file, f.line])).toEqual([
      ['net.connect', 'src/lib.rs', 6],
      ['net.listen', 'src/lib.rs', 10],
    ]);
  });

  it('keeps test-only URLs and hosts under --all-targets', async () => {
    const r = await scanCrateDir(FIXTURE, defaultScanOptions({ allTargets: true }));
    const c = r.crates[0]!;
    expect(c.urls).toEqual(['https://test-only.example/path', 'https://updates.example.net/v2/check?x=1']);
    expect(c.hosts).toContain('test-only.example');
  });
});
