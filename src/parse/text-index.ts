// Offsets in a file's text: line/column positions and sets of byte ranges, shared by the tree and the
// token analyses.

export class LineIndex {
  private starts: number[] = [0];
  constructor(text: string) {
    let i = text.indexOf('\n');
    while (i >= 0) {
      this.starts.push(i + 1);
      i = text.indexOf('\n', i + 1);
    }
  }
  /** Offset where a 1-based line starts. */
  lineStart(line: number): number {
    return this.starts[Math.min(Math.max(line - 1, 0), this.starts.length - 1)]!;
  }
  pos(offset: number): { line: number; column: number } {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - s[lo]! + 1 };
  }
}

export interface Range {
  start: number;
  end: number;
}

/** Sorted, possibly nested ranges; `contains` answers in O(log n). */
export class RangeSet {
  private list: Range[] = [];
  private sorted = true;
  add(r: Range) {
    this.list.push(r);
    this.sorted = false;
  }
  get size() {
    return this.list.length;
  }
  contains(offset: number): boolean {
    if (this.list.length === 0) return false;
    if (!this.sorted) {
      this.list.sort((a, b) => a.start - b.start || b.end - a.end);
      // merge into disjoint ranges
      const merged: Range[] = [];
      for (const r of this.list) {
        const last = merged[merged.length - 1];
        if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
        else merged.push({ ...r });
      }
      this.list = merged;
      this.sorted = true;
    }
    let lo = 0;
    let hi = this.list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.list[mid]!;
      if (offset < r.start) hi = mid - 1;
      else if (offset >= r.end) lo = mid + 1;
      else return true;
    }
    return false;
  }
}
