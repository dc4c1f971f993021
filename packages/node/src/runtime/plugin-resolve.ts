import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * Where a plugin spec points: a file path (absolute, or relative to a search folder) or a
 * package name resolved from the search folders' node_modules. Packages are resolved the way
 * `import` would (the "import" / "default" condition of an `exports` map, then `module`, then
 * `main`), so ESM-only packages load; `require.resolve` alone would miss them.
 */
export type PluginTarget = { kind: 'file' | 'package'; path: string };

export const isPathSpec = (spec: string) =>
  isAbsolute(spec) || spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..';

/** Resolves `spec`, or throws saying what was tried. */
export function resolvePlugin(spec: string, searchDirs: string[]): PluginTarget {
  const dirs = [...new Set(searchDirs.map((d) => resolve(d)))];
  if (isPathSpec(spec)) {
    const candidates = isAbsolute(spec) ? [spec] : dirs.map((d) => resolve(d, spec));
    for (const c of candidates) {
      const file = fileOrIndex(c);
      if (file) return { kind: 'file', path: file };
    }
    throw new Error(`no such file: tried ${candidates.join(', ')}`);
  }
  const { name, subpath } = splitPackageSpec(spec);
  const tried: string[] = [];
  for (const dir of dirs) {
    for (let d = dir; ; d = dirname(d)) {
      const pkgDir = join(d, 'node_modules', name);
      if (existsSync(join(pkgDir, 'package.json')))
        return { kind: 'package', path: packageEntry(pkgDir, subpath, spec) };
      if (dirname(d) === d) break;
    }
    tried.push(dir);
  }
  // Last resort: Node's own resolution from this install (selfsup installed globally with its plugins).
  try {
    return { kind: 'package', path: createRequire(import.meta.url).resolve(spec) };
  } catch {
    /* not resolvable for require either */
  }
  throw new Error(`package '${name}' is not installed in node_modules above ${tried.join(' or ')}`);
}

function fileOrIndex(p: string): string | undefined {
  if (existsSync(p) && statSync(p).isFile()) return p;
  for (const ext of ['.mjs', '.js', '.cjs', '.ts']) if (existsSync(p + ext)) return p + ext;
  if (existsSync(p) && statSync(p).isDirectory()) {
    if (existsSync(join(p, 'package.json'))) return packageEntry(p, '.', p);
    for (const f of ['index.mjs', 'index.js', 'index.cjs']) if (existsSync(join(p, f))) return join(p, f);
  }
  return undefined;
}

function splitPackageSpec(spec: string): { name: string; subpath: string } {
  const parts = spec.split('/');
  const n = spec.startsWith('@') ? 2 : 1;
  const rest = parts.slice(n).join('/');
  return { name: parts.slice(0, n).join('/'), subpath: rest ? `./${rest}` : '.' };
}

type Exports = string | null | { [key: string]: Exports } | Exports[];
const CONDITIONS = ['import', 'node', 'module', 'default', 'require'];

/** First target of an exports entry under the conditions an ESM import in Node uses. */
function pickCondition(e: Exports): string | undefined {
  if (typeof e === 'string') return e;
  if (e === null) return undefined;
  if (Array.isArray(e)) {
    for (const x of e) {
      const t = pickCondition(x);
      if (t) return t;
    }
    return undefined;
  }
  for (const c of CONDITIONS)
    if (c in e) {
      const t = pickCondition(e[c]);
      if (t) return t;
    }
  return undefined;
}

function packageEntry(pkgDir: string, subpath: string, spec: string): string {
  const pkgFile = join(pkgDir, 'package.json');
  let pkg: { exports?: Exports; module?: string; main?: string };
  try {
    pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as typeof pkg;
  } catch (err) {
    throw new Error(`${pkgFile} is not valid JSON (${(err as Error).message})`);
  }
  let target: string | undefined;
  if (pkg.exports !== undefined) {
    const ex = pkg.exports;
    const isSubpathMap =
      typeof ex === 'object' &&
      ex !== null &&
      !Array.isArray(ex) &&
      Object.keys(ex).some((k) => k.startsWith('.'));
    const entry = isSubpathMap ? (ex as Record<string, Exports>)[subpath] : subpath === '.' ? ex : undefined;
    if (entry === undefined)
      throw new Error(`${pkgFile}: "exports" has no entry for '${subpath}' (asked for ${spec})`);
    target = pickCondition(entry);
    if (!target)
      throw new Error(`${pkgFile}: "exports" of '${subpath}' has no import, default or require target`);
  } else if (subpath !== '.') target = subpath;
  else target = pkg.module ?? pkg.main ?? 'index.js';
  const file = fileOrIndex(resolve(pkgDir, target));
  if (!file) throw new Error(`${pkgFile} points to ${target}, which does not exist (is the package built?)`);
  return file;
}
