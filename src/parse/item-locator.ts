// The item that contains a node, found with one forward-moving tree cursor (for the token pass over a
// broken region).

import type ParserT from 'tree-sitter';

type Node = ParserT.SyntaxNode;

const ITEM_PARENTS = new Set(['source_file', 'declaration_list', 'block']);

/**
 * The item (child of a file, module body or block) that contains a node, for nodes given in document
 * order. node.parent walks down from the root through every sibling on the way (quadratic on a flat file of
 * broken statements: 1,500 `Err(err)` lines took 30 s); one tree cursor moving forward instead visits each
 * node a bounded number of times over the whole file.
 */
export class ItemLocator {
  private cursor: ParserT.TreeCursor;
  /** The cursor's ancestors and itself: [type, start, end]. */
  private path: { type: string; start: number; end: number }[] = [];
  constructor(root: Node) {
    this.cursor = root.walk();
    this.path.push({ type: root.type, start: root.startIndex, end: root.endIndex });
  }
  private top() {
    return this.path[this.path.length - 1]!;
  }
  private sync() {
    const c = this.cursor;
    const t = this.top();
    t.type = c.nodeType;
    t.start = c.startIndex;
    t.end = c.endIndex;
  }
  private up(): boolean {
    if (this.path.length <= 1 || !this.cursor.gotoParent()) return false;
    this.path.pop();
    return true;
  }
  /** The item node that contains n (n itself when it is one, the root when n is the root). */
  itemOf(n: Node): Node {
    const s = n.startIndex;
    const e = n.endIndex;
    const type = n.type;
    const c = this.cursor;
    // back up to a node that contains n (the cursor only ever moves forward between calls)
    for (;;) {
      const t = this.top();
      if (t.start <= s && e <= t.end) break;
      if (t.end <= s && this.path.length > 1 && c.gotoNextSibling()) {
        this.sync();
        continue;
      }
      if (!this.up()) break;
    }
    // down to n
    while (!(this.top().start === s && this.top().end === e && this.top().type === type)) {
      if (!c.gotoFirstChild()) break;
      this.path.push({ type: c.nodeType, start: c.startIndex, end: c.endIndex });
      let found = false;
      for (;;) {
        const t = this.top();
        if (t.start <= s && e <= t.end) {
          found = true;
          break;
        }
        if (t.start > s || !c.gotoNextSibling()) break;
        this.sync();
      }
      if (!found) {
        this.up();
        break;
      }
    }
    // the item: the ancestor whose parent is a file, module body or block
    let i = this.path.length - 1;
    while (i > 0 && !ITEM_PARENTS.has(this.path[i - 1]!.type)) i--;
    while (this.path.length - 1 > i) this.up();
    return c.currentNode;
  }
}

