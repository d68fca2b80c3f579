// Analysis worker (see pool.ts): loads tree-sitter once, then answers { id, abs, opts } with the file's
// summary. It reads the file itself, so only paths and small summaries cross the thread boundary.

import { parentPort, workerData } from 'node:worker_threads';
import { analyzePathSync } from './pool.js';
import { getParser, type AnalyzerConfig, type FileOptions } from './analyze.js';

interface Request {
  id: string;
  abs: string;
  opts: FileOptions;
}

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const { cfg } = workerData as { cfg: AnalyzerConfig };

try {
  getParser();
} catch (e) {
  port.postMessage({ fatal: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}

port.on('message', (m: Request | { stop: true }) => {
  if ('stop' in m) {
    port.close(); // nothing else keeps the thread alive: it ends
    return;
  }
  // a JSON string crosses threads faster than the structured clone of many small objects
  port.postMessage({ id: m.id, json: JSON.stringify(analyzePathSync(m.abs, cfg, m.opts)) });
});
port.postMessage({ ready: true });
