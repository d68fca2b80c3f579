// The scan's progress line on stderr: crates located, crates scanned of the total, files parsed, elapsed.
// A few lines instead of cli-progress: the total is unknown while crates are being located (a bar would
// lie), and the line must share stderr with the download bar, which uses the same `\r…\x1b[K` scheme.

export interface ScanProgress {
  located(): void;
  /** The number of crates to scan, once the project is loaded. */
  total(n: number): void;
  scanned(): void;
  fileParsed(): void;
  /** Clear the line (end of a scan). */
  done(): void;
}

export class ProgressLine implements ScanProgress {
  private nLocated = 0;
  private nTotal: number | null = null;
  private nScanned = 0;
  private nFiles = 0;
  private lastDraw = 0;
  private drawn = false;
  private start: number;

  constructor(
    private readonly stream: { write(s: string): unknown } = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.start = now();
  }

  located(): void {
    this.nLocated++;
    this.draw();
  }
  total(n: number): void {
    this.nTotal = n;
    this.draw(true);
  }
  scanned(): void {
    this.nScanned++;
    this.draw(this.nScanned === this.nTotal);
  }
  fileParsed(): void {
    this.nFiles++;
    this.draw();
  }

  line(): string {
    const secs = ((this.now() - this.start) / 1000).toFixed(1);
    const of = this.nTotal === null ? '' : `/${this.nTotal}`;
    return `Scanning: ${this.nLocated} crates located, ${this.nScanned}${of} scanned, ${this.nFiles} files parsed, ${secs} s`;
  }

  private draw(force = false): void {
    const t = this.now();
    if (!force && this.drawn && t - this.lastDraw < 100) return;
    this.lastDraw = t;
    this.stream.write(`\r${this.line()}\x1b[K`);
    this.drawn = true;
  }

  /** Clears the line; the counts start again for a next scan (diff scans twice). */
  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
    this.nLocated = this.nScanned = this.nFiles = 0;
    this.nTotal = null;
    this.start = this.now();
  }
}
