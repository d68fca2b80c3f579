// Typed-method rules (issue 18 item 1): does a method call's receiver, as the file's local type knowledge
// tells (src/parse/receivers.ts), come from the rule's receiver type?
//
//   match:   the origin resolves to one of the rule's `receiver` entries (a type, a function returning it, or
//            an associated function of such a type: `std::path::Path::new`), through methods that keep the
//            type (the rule's `through`, plus unwrap/expect/clone/as_ref/… which never change what a value is);
//   other:   the origin is known to be another type: a declared type (parameter, let, field, `self` in an
//            impl) that resolves to a dependency's type, a type of the crate the file gives an inherent method of
//            that name (`impl Header { fn uid(..) }`: inherent methods win), or a constructor call
//            (`Type::new`, `::default`, `::from`, `::builder`) of another external type (`clap::Command::new`);
//   unknown: anything else (a field of an unknown struct, a local function's result, a method the rule does
//            not list along the chain).
// A bare-name rule (`methods = ["is_file"]`) fires on `match` only. A trait-method rule with a receiver
// (`CommandExt::uid`) fires when the trait is in scope and the receiver is not `other`: deciding on the
// side of reporting, a receiver the file does not type keeps the finding.

import type { MethodCall, ReceiverOrigin } from '../parse/summary.js';
import type { Resolver, Unit } from '../resolve/resolver.js';
import type { Rule } from './load.js';

/** Methods that never change what a value is (Option/Result unwrapping, references, clones). */
const KEEPS = new Set(['unwrap', 'expect', 'unwrap_or_default', 'clone', 'to_owned', 'as_ref', 'as_mut', 'borrow', 'borrow_mut', 'by_ref']);
/** Associated functions taken to return their own type. */
const CONSTRUCTORS = new Set(['new', 'default', 'from', 'builder']);

export type ReceiverKind = { kind: 'match'; entry: string } | { kind: 'other' } | { kind: 'unknown' };

export function receiverKind(resolver: Resolver, unit: Unit, recv: ReceiverOrigin | undefined, rule: Rule): ReceiverKind {
  if (!recv) return { kind: 'unknown' };
  if (recv.via.some((v) => !KEEPS.has(v) && !rule.through.includes(v))) return { kind: 'unknown' };
  const r = resolver.resolve(unit, recv.scope, recv.segs, recv.global);
  if (!r) return { kind: 'unknown' };
  // a type the crate defines: another type only when the file gives it an inherent method of this name
  // (which wins over the trait's); a local wrapper that derefs to a Command keeps the finding
  if ('local' in r) return recv.kind === 'type' && recv.inherent ? { kind: 'other' } : { kind: 'unknown' };
  const p = r.ext.join('::');
  for (const e of rule.receiver) if (p === e || (recv.kind === 'call' && p.startsWith(`${e}::`))) return { kind: 'match', entry: e };
  if (recv.kind === 'type') return { kind: 'other' };
  const n = r.ext.length;
  if (n >= 2 && CONSTRUCTORS.has(r.ext[n - 1]!) && /^[A-Z]/.test(r.ext[n - 2]!)) return { kind: 'other' };
  return { kind: 'unknown' };
}

/** The evidence of a method rule matched by a call, or null when it does not match. */
export function methodRuleEvidence(resolver: Resolver, unit: Unit, m: MethodCall, rule: Rule, trait: string): string | null {
  if (rule.receiver.length === 0) return resolver.traitInScope(unit, m.scope, trait) ? `${trait}::${m.name}` : null;
  const k = receiverKind(resolver, unit, m.recv, rule);
  if (trait === '') return k.kind === 'match' ? `${rule.receiver[0]}::${m.name}` : null;
  return k.kind !== 'other' && resolver.traitInScope(unit, m.scope, trait) ? `${trait}::${m.name}` : null;
}
