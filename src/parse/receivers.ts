// Local type knowledge for typed-method rules (issue 18 item 1): where the receiver of `.is_file()`,
// `.uid()`… comes from, as far as the file itself tells. The rule side (rules/receiver-match.ts) resolves the
// origin's path and decides whether it is the rule's receiver type.
//
// What is known (everything else is "unknown", which a bare-name rule never matches and a trait-method
// rule still matches):
//   - a call of a path: `Path::new(..)`, `PathBuf::from(..)`, `env::temp_dir()`, `Command::new(..)`;
//   - a method chain on a known origin (`Path::new(x).join("a").with_extension("b")`): the methods are
//     recorded in `via`, the rule says which keep its type (`through`);
//   - `&x`, `(x)`, `x?`;
//   - a name bound by `let` (declared type first, else its initialiser) or a parameter's declared type
//     (`&Path`, `PathBuf`, `impl AsRef<Path>`, `P` with a `P: AsRef<Path>` bound), in the same function;
//   - a field access `x.name` when every struct field of that name in the file has the same declared type.
// Bindings are looked up by offset: the nearest earlier binding of the name in the same innermost fn item
// (block scoping is not modelled: a shadowing `let` in a closed block still counts). All work is bounded
// per call (MAX_DEPTH steps), and the tables are built from captures in one pass.

import type { Node } from './captures.js';
import type { ReceiverOrigin } from './summary.js';

const MAX_DEPTH = 24;
/** Bindings looked at per lookup (earlier bindings of the same name in other functions are skipped). */
const MAX_LOOKBACK = 64;

type Segs = (start: number, end: number) => { segs: string[]; global: boolean };
type Origin = Omit<ReceiverOrigin, 'scope'> & { at: number };

interface Binding {
  /** Visible from here (the end of the let statement or parameter). */
  from: number;
  fn: number;
  node: Node;
  kind: 'let' | 'param';
  /** Generic bounds of the parameter's function (`P: AsRef<Path>`), for a parameter typed `P`. */
  bounds?: string;
  memo?: Origin | null;
  busy?: boolean;
}

export class Receivers {
  private fnStarts: number[] = [];
  private fnEnds: number[] = [];
  private fnParent: number[] = [];
  private fnNodes: Node[] = [];
  /** impl blocks in document order: the type, whether inherent (no trait), the names of its fns. */
  private readonly impls: { start: number; end: number; type: Node | null; inherent: boolean; name: string; fns: Set<string> }[] = [];
  private readonly implStack: number[] = [];
  private readonly stack: number[] = [];
  private readonly bindings = new Map<string, Binding[]>();
  private readonly fields = new Map<string, Node | null>();
  private readonly fieldMemo = new Map<string, Origin | null>();

  constructor(
    private readonly source: string,
    private readonly segsOf: Segs,
    private readonly scopeAt: (offset: number) => number,
  ) {}

  /**
   * Captures, in document order: fn items, their parameters, let declarations, struct fields. (A fn's
   * parameters come from their own captures: `namedChildren` of the parameter list cost ~80 µs a fn.)
   */
  addFn(fn: Node): void {
    const id = this.fnStarts.length;
    while (this.stack.length > 0 && this.fnEnds[this.stack[this.stack.length - 1]!]! <= fn.startIndex) this.stack.pop();
    this.fnStarts.push(fn.startIndex);
    this.fnEnds.push(fn.endIndex);
    this.fnParent.push(this.stack.length > 0 ? this.stack[this.stack.length - 1]! : -1);
    this.fnNodes.push(fn);
    this.stack.push(id);
    const impl = this.implAt(fn.startIndex);
    if (impl && impl.inherent) {
      const name = fn.childForFieldName('name')?.text;
      if (name) impl.fns.add(name);
    }
  }

  addImpl(node: Node): void {
    const type = node.childForFieldName('type');
    const base = type?.type === 'generic_type' ? type.childForFieldName('type') : type;
    const name = base ? base.text.split('::').pop()! : '';
    this.impls.push({ start: node.startIndex, end: node.endIndex, type, inherent: node.childForFieldName('trait') === null, name, fns: new Set() });
  }

  /** Innermost impl block containing offset (impls are captured in document order, nested rarely). */
  private implAt(offset: number) {
    while (this.implStack.length > 0 && this.impls[this.implStack[this.implStack.length - 1]!]!.end <= offset) this.implStack.pop();
    const last = this.impls.length - 1;
    if (last >= 0 && this.impls[last]!.start <= offset && offset < this.impls[last]!.end && this.implStack[this.implStack.length - 1] !== last) this.implStack.push(last);
    const top = this.implStack[this.implStack.length - 1];
    return top === undefined ? null : this.impls[top]!;
  }

  /** Innermost impl block containing offset, by search (for lookups after all captures). */
  private implOf(offset: number) {
    let lo = 0;
    let hi = this.impls.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.impls[mid]!.start <= offset) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    for (let steps = 0; k >= 0 && steps < MAX_LOOKBACK; k--, steps++) if (offset < this.impls[k]!.end) return this.impls[k]!;
    return null;
  }

  /**
   * A receiver of a type the file gives an inherent method of this name (`impl Header { fn uid(..) }`):
   * inherent methods win over trait methods, so `header.uid()` is not `CommandExt::uid`.
   */
  private withInherent(o: ReceiverOrigin, method: string): ReceiverOrigin {
    if (o.kind !== 'type' || o.via.length > 0 || o.segs.length !== 1) return o;
    for (const impl of this.impls) if (impl.inherent && impl.name === o.segs[0] && impl.fns.has(method)) return { ...o, inherent: true };
    return o;
  }

  addParam(p: Node): void {
    const name = patternName(p.childForFieldName('pattern'));
    if (!name) return;
    const id = this.fnOf(p.startIndex);
    let bounds: string | undefined;
    // generic bounds only for a parameter typed by a bare name (`p: P`) in a generic fn
    if (id >= 0 && p.childForFieldName('type')?.type === 'type_identifier') {
      const fn = this.fnNodes[id]!;
      const tp = fn.childForFieldName('type_parameters');
      const body = fn.childForFieldName('body');
      // the where clause sits between the signature and the body
      bounds = tp ? this.source.slice(tp.startIndex, Math.min(body ? body.startIndex : fn.endIndex, tp.startIndex + 2000)) : '';
    }
    this.bind(name, { from: p.endIndex, fn: id, node: p, kind: 'param', bounds });
  }

  addLet(node: Node): void {
    const name = patternName(node.childForFieldName('pattern'));
    if (name) this.bind(name, { from: node.endIndex, fn: this.fnOf(node.startIndex), node, kind: 'let' });
  }

  addField(node: Node): void {
    const name = node.childForFieldName('name')?.text;
    const type = node.childForFieldName('type');
    if (!name || !type) return;
    if (!this.fields.has(name)) this.fields.set(name, type);
    else {
      const prev = this.fields.get(name);
      if (prev && prev.text !== type.text) this.fields.set(name, null);
    }
  }

  private bind(name: string, b: Binding): void {
    const list = this.bindings.get(name);
    if (list) list.push(b);
    else this.bindings.set(name, [b]);
  }

  /** Innermost fn item containing offset, -1 for none. */
  private fnOf(offset: number): number {
    let lo = 0;
    let hi = this.fnStarts.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.fnStarts[mid]! <= offset) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    for (let steps = 0; k >= 0 && steps < MAX_DEPTH * 4; steps++) {
      if (offset < this.fnEnds[k]!) return k;
      k = this.fnParent[k]!;
    }
    return -1;
  }

  /** The origin of a method call's receiver, from the method name (`recv.method(..)`), or undefined. */
  receiverOfMethod(name: Node): ReceiverOrigin | undefined {
    // one parent step (the field expression; the query matched it as a call's function)
    const f = name.parent;
    const value = f?.type === 'field_expression' ? f.childForFieldName('value') : null;
    const o = value ? this.expr(value, 0) : null;
    if (!o) return undefined;
    return this.withInherent({ kind: o.kind, segs: o.segs, global: o.global, scope: this.scopeAt(o.at), via: o.via }, name.text);
  }

  /**
   * The receiver of a method call the token pass found (inside a macro's arguments: `assert!(p.exists())`),
   * from the text before the method name at `at`: a name (`p.`) or a field (`self.root.`), else undefined.
   */
  receiverBefore(source: string, at: number, method: string): ReceiverOrigin | undefined {
    const before = source.slice(Math.max(0, at - 200), at);
    const m = /(\.\s*)?\b([A-Za-z_][\w]*)\s*\.\s*$/.exec(before);
    if (!m) return undefined;
    const start = at - before.length + m.index + (m[1]?.length ?? 0);
    const prev = before[m.index - 1];
    if (!m[1] && (prev === ':' || prev === '$')) return undefined;
    const o = m[1] ? this.field(m[2]!, 0) : m[2] === 'self' ? this.selfType(start) : this.lookup(m[2]!, start, 0);
    if (!o) return undefined;
    return this.withInherent({ kind: o.kind, segs: o.segs, global: o.global, scope: this.scopeAt(o.at), via: o.via }, method);
  }

  private expr(n: Node, depth: number): Origin | null {
    if (depth > MAX_DEPTH) return null;
    switch (n.type) {
      case 'call_expression': {
        let f = n.childForFieldName('function');
        if (f?.type === 'generic_function') f = f.childForFieldName('function');
        if (!f) return null;
        if (f.type === 'scoped_identifier' || f.type === 'identifier') {
          const { segs, global } = this.segsOf(f.startIndex, f.endIndex);
          return segs.length > 0 ? { kind: 'call', segs, global, at: f.startIndex, via: [] } : null;
        }
        if (f.type === 'field_expression') {
          const v = f.childForFieldName('value');
          const m = f.childForFieldName('field');
          const o = v && m ? this.expr(v, depth + 1) : null;
          return o && m ? { ...o, via: [...o.via, m.text] } : null;
        }
        return null;
      }
      case 'identifier':
        return this.lookup(n.text, n.startIndex, depth);
      case 'self':
        return this.selfType(n.startIndex);
      case 'field_expression': {
        const field = n.childForFieldName('field');
        return field && field.type === 'field_identifier' ? this.field(field.text, depth) : null;
      }
      case 'reference_expression': {
        const v = n.childForFieldName('value');
        return v ? this.expr(v, depth + 1) : null;
      }
      case 'parenthesized_expression':
      case 'try_expression': {
        const v = n.firstNamedChild;
        return v ? this.expr(v, depth + 1) : null;
      }
      default:
        return null;
    }
  }

  private selfType(at: number): Origin | null {
    const impl = this.implOf(at);
    return impl?.type ? this.type(impl.type, '', 1) : null;
  }

  private field(name: string, depth: number): Origin | null {
    if (this.fieldMemo.has(name)) return this.fieldMemo.get(name)!;
    const t = this.fields.get(name);
    const o = t ? this.type(t, '', depth + 1) : null;
    this.fieldMemo.set(name, o);
    return o;
  }

  private lookup(name: string, at: number, depth: number): Origin | null {
    const list = this.bindings.get(name);
    if (!list) return null;
    // last binding visible before `at`
    let lo = 0;
    let hi = list.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.from <= at) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const fn = this.fnOf(at);
    for (let steps = 0; k >= 0 && steps < MAX_LOOKBACK; k--, steps++) {
      const b = list[k]!;
      if (b.fn !== fn) continue;
      return this.bindingOrigin(b, depth);
    }
    return null;
  }

  private bindingOrigin(b: Binding, depth: number): Origin | null {
    if (b.memo !== undefined) return b.memo;
    if (b.busy) return null;
    b.busy = true;
    let o: Origin | null = null;
    const type = b.node.childForFieldName('type');
    if (type) o = this.type(type, b.bounds ?? '', depth + 1);
    else if (b.kind === 'let') {
      const v = b.node.childForFieldName('value');
      o = v ? this.expr(v, depth + 1) : null;
    }
    b.busy = false;
    b.memo = o;
    return o;
  }

  /** A declared type: `&Path`, `PathBuf`, `&mut Command`, `impl AsRef<Path>`, `P` bound by `P: AsRef<Path>`. */
  private type(t: Node, bounds: string, depth: number): Origin | null {
    if (depth > MAX_DEPTH) return null;
    switch (t.type) {
      case 'reference_type': {
        const inner = t.childForFieldName('type');
        return inner ? this.type(inner, bounds, depth + 1) : null;
      }
      case 'abstract_type': {
        // impl AsRef<X>: the parameter is used through .as_ref(), which is X
        const tr = t.childForFieldName('trait');
        return tr ? this.asRef(tr, depth) : null;
      }
      case 'type_identifier': {
        const name = t.text;
        if (bounds) {
          const m = new RegExp(`(?:^|[<,\\s])${name}\\s*:[^,>{]*?\\bAsRef\\s*<\\s*((?:::)?[A-Za-z_][\\w]*(?:::[A-Za-z_][\\w]*)*)\\s*>`).exec(bounds);
          if (m) return { kind: 'type', segs: m[1]!.replace(/^::/, '').split('::'), global: m[1]!.startsWith('::'), at: t.startIndex, via: [] };
        }
        return { kind: 'type', segs: [name], global: false, at: t.startIndex, via: [] };
      }
      case 'scoped_type_identifier':
      case 'generic_type': {
        const { segs, global } = this.segsOf(t.startIndex, t.endIndex);
        return segs.length > 0 ? { kind: 'type', segs, global, at: t.startIndex, via: [] } : null;
      }
      default:
        return null;
    }
  }

  private asRef(tr: Node, depth: number): Origin | null {
    if (tr.type !== 'generic_type') return null;
    const base = tr.childForFieldName('type');
    if (!base || base.text.split('::').pop() !== 'AsRef') return null;
    const arg = tr.childForFieldName('type_arguments')?.firstNamedChild;
    return arg ? this.type(arg, '', depth + 1) : null;
  }
}

/** The bound name of a simple pattern (`p`, `mut p`), else null. */
function patternName(p: Node | null): string | null {
  if (!p) return null;
  if (p.type === 'identifier') return p.text;
  if (p.type === 'mut_pattern') {
    const inner = p.namedChildren.find((n) => n.type === 'identifier');
    return inner ? inner.text : null;
  }
  return null;
}
