// Package-level native-code indicators: shipped compiled binaries (by magic bytes or extension), C/C++/asm
// sources (not headers alone) compiled by the build script, and include_bytes! of binaries. Reads only the
// first bytes of files.
import { readHeadSync } from '../util/fs-safe.js';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type Parser from 'tree-sitter';
import { treeSitter } from '../parse/captures.js';
import type { Indicator, Unanalyzed } from '../types.js';
import { unescapeRustString } from './strings.js';

type SyntaxNode = Parser.SyntaxNode;

/**
 * At most this many files are opened for magic bytes per package; the others are judged by extension only,
 * and one `unanalyzed` entry says so.
 */
export const MAX_MAGIC_FILES = 5000;
const EXAMPLES = 3;

const BINARY_EXTS = new Set(['.a', '.so', '.dll', '.dylib', '.exe', '.o', '.lib', '.obj', '.node', '.wasm']);
/** Files a C/C++/asm compiler compiles; headers are listed with them but are not compiled on their own. */
const COMPILED_EXTS = new Set(['.c', '.cc', '.cpp', '.cxx', '.c++', '.s', '.asm', '.m', '.mm']);
const HEADER_EXTS = new Set(['.h', '.hh', '.hpp', '.hxx']);

/**
 * Build-script use of a native compiler driver: `cc::Build`, `cmake::Config`, `autotools`, … Not `pkg_config`
 * (or system-deps): it finds an installed library and compiles nothing.
 */
const COMPILE_RE =
  /\b(?:cc|gcc)::(?:Build|Config)\b|\bcmake::(?:Config|build)\b|\bautotools::|\bcxx_build::|\bnasm_rs::|\bcc_version\b|\bBuild::new\(\)[\s\S]{0,400}?\.(?:file|files|compile)\(|Command::new\(\s*"(?:make|gmake|cmake|gcc|g\+\+|clang|clang\+\+|cc|c\+\+|nasm|yasm|\.\/configure|configure)"\s*\)/;

export interface IncludeBytesRef {
  /** The Rust file containing the macro, relative to the package dir. */
  file: string;
  /** The macro's path argument, as written (relative to `file`'s directory). */
  path: string;
  line: number;
}

// compiled at first use: loading this module must not load the grammar (a warm scan parses nothing)
let includeQuery: Parser.Query | null = null;
const INCLUDE_QUERY = () =>
  (includeQuery ??= new (treeSitter().Parser).Query(
    treeSitter().Rust,
    `(macro_invocation macro: [(identifier) (scoped_identifier)] @m (token_tree . [(string_literal) (raw_string_literal)] @p))`,
  ));

/** `include_bytes!("…")` literal targets of a file (concat!/env! forms are not resolvable and are skipped). */
export function includeBytesTargets(root: SyntaxNode, source: string): { path: string; line: number }[] {
  const out: { path: string; line: number }[] = [];
  if (!source.includes('include_bytes')) return out;
  for (const m of INCLUDE_QUERY().matches(root)) {
    const mac = m.captures.find((c) => c.name === 'm')!.node;
    const name = source.slice(mac.startIndex, mac.endIndex).split('::').pop();
    if (name !== 'include_bytes') continue;
    const lit = m.captures.find((c) => c.name === 'p')!.node;
    out.push({ path: unescapeRustString(source.slice(lit.startIndex, lit.endIndex)), line: mac.startPosition.row + 1 });
  }
  return out;
}

/** Kind of executable/object format from the first bytes, or null. */
export function binaryMagic(head: Buffer): string | null {
  if (head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) return 'ELF';
  if (head.length >= 8 && head.toString('latin1', 0, 8) === '!<arch>\n') return 'ar archive';
  if (head.length >= 4 && head[0] === 0 && head[1] === 0x61 && head[2] === 0x73 && head[3] === 0x6d) return 'wasm';
  if (head.length >= 4) {
    const be = head.readUInt32BE(0);
    if (be === 0xfeedface || be === 0xfeedfacf || be === 0xcefaedfe || be === 0xcffaedfe) return 'Mach-O';
    // universal binary; Java class files share the magic but carry a version >= 45 where fat has an arch count
    if (be === 0xcafebabe && head.length >= 8 && head.readUInt32BE(4) > 0 && head.readUInt32BE(4) < 45) return 'Mach-O';
  }
  if (head.length >= 64 && head[0] === 0x4d && head[1] === 0x5a) {
    const peOff = head.readUInt32LE(0x3c);
    if (peOff + 4 <= head.length && head.toString('latin1', peOff, peOff + 4) === 'PE\0\0') return 'PE';
  }
  return null;
}

/**
 * The first bytes of a file. Synchronous: every file of every package is read, mostly small ones, and the
 * promise API's open/stat/read/close round trips through the thread pool cost far more than the reads
 * (2.2 s of main-thread CPU on the 227-crate corpus; 0.2 s now).
 */
function readHead(file: string, bytes: number): Buffer | null {
  try {
    // regular files only: a FIFO include_bytes! target or a listed device must not block the scan
    return readHeadSync(file, bytes);
  } catch {
    return null;
  }
}

function extOf(p: string): string {
  const base = path.posix.basename(p).toLowerCase();
  if (/\.so(?:\.\d+)+$/.test(base)) return '.so';
  return path.posix.extname(base);
}

function firstLine(text: string, re: RegExp): number {
  const m = re.exec(text);
  if (!m) return 1;
  let n = 1;
  for (let i = 0; i < m.index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

function summary(kind: string, items: string[]): string {
  const shown = items.slice(0, EXAMPLES).join(', ');
  return `${kind}: ${items.length} file${items.length === 1 ? '' : 's'} (${shown}${items.length > EXAMPLES ? ', …' : ''})`;
}

/**
 * native-code indicators of a package directory.
 * - `files`: every file of the package (paths relative to `dir`, `/`-separated).
 * - `buildScriptSource`: the build script's text, or null; `buildScriptPath` its relative path.
 * - `includeBytes`: `include_bytes!` literals found in the package's Rust files.
 * Emits at most one indicator for prebuilt binaries (file: first binary, line 1), one for compiled native
 * sources (file: the build script, line of the compiler use), and one per binary `include_bytes!`. Line 1
 * stands for "the whole file" where a file has no lines. Sorted by file, line, detail. Files past
 * MAX_MAGIC_FILES are checked by extension only: one entry pushed to `unanalyzed` names the first and the count.
 */
export async function crateIndicators(
  dir: string,
  files: { path: string }[],
  buildScriptSource: string | null,
  includeBytes: IncludeBytesRef[] = [],
  buildScriptPath = 'build.rs',
  unanalyzed: Unanalyzed[] = [],
): Promise<Indicator[]> {
  const out: Indicator[] = [];
  const sorted = [...new Set(files.map((f) => f.path.replace(/\\/g, '/')))].sort();

  // prebuilt binaries
  const binaries: string[] = [];
  for (const [i, rel] of sorted.entries()) {
    const ext = extOf(rel);
    let kind: string | null = null;
    if (i < MAX_MAGIC_FILES) {
      const head = readHead(path.join(dir, rel), 1024);
      if (head) kind = binaryMagic(head);
    }
    if (kind) binaries.push(`${rel} [${kind}]`);
    else if (BINARY_EXTS.has(ext)) binaries.push(`${rel} [${ext}]`);
  }
  if (sorted.length > MAX_MAGIC_FILES) {
    const n = sorted.length - MAX_MAGIC_FILES;
    unanalyzed.push({
      file: sorted[MAX_MAGIC_FILES]!,
      line: 1,
      reason: `magic-bytes-cap (${MAX_MAGIC_FILES}): ${n} file${n === 1 ? '' : 's'} from this one on not opened to look for binaries (checked by extension only)`,
    });
  }
  if (binaries.length > 0) {
    out.push({ id: 'native-code', file: binaries[0]!.replace(/ \[[^\]]*\]$/, ''), line: 1, detail: summary('prebuilt binaries', binaries) });
  }

  // native sources compiled by the build script
  if (buildScriptSource !== null && COMPILE_RE.test(buildScriptSource)) {
    // a header alone (a bindgen wrapper, the config.h of vendored sources a distribution stripped) is not
    // compiled code
    const sources = sorted.filter((rel) => COMPILED_EXTS.has(extOf(rel)) || HEADER_EXTS.has(extOf(rel)));
    if (sources.some((rel) => COMPILED_EXTS.has(extOf(rel)))) {
      const tool = COMPILE_RE.exec(buildScriptSource)![0].replace(/\s+/g, ' ').slice(0, 40);
      out.push({
        id: 'native-code',
        file: buildScriptPath,
        line: firstLine(buildScriptSource, COMPILE_RE),
        detail: `${summary('native sources', sources)} compiled via ${tool}`,
      });
    }
  }

  // include_bytes! of binaries
  const realDir = await realpath(dir).catch(() => path.resolve(dir));
  for (const ref of includeBytes) {
    const target = path.resolve(dir, path.dirname(ref.file), ref.path);
    const real = await realpath(target).catch(() => null);
    if (!real || (real !== realDir && !real.startsWith(realDir + path.sep))) continue;
    const head = readHead(real, 1024);
    const kind = head ? binaryMagic(head) : null;
    if (kind) out.push({ id: 'native-code', file: ref.file, line: ref.line, detail: `include_bytes! of a ${kind} binary: ${JSON.stringify(ref.path)}` });
  }

  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.detail < b.detail ? -1 : a.detail > b.detail ? 1 : 0)));
}
