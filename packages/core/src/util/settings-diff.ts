/**
 * Key paths whose values differ between two JSON-like settings trees, each as
 * `path (before -> after)`, e.g. `optimizer.lr (0.06 -> 0.1)`. Mappings are compared key by key;
 * anything else (numbers, strings, arrays) as a whole. A key on one side only shows `unset`.
 */
export function settingsDiff(before: unknown, after: unknown): string[] {
  const out: string[] = [];
  const isMapping = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  const walk = (a: unknown, b: unknown, path: string) => {
    if (isMapping(a) && isMapping(b)) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
        walk(a[k], b[k], path ? `${path}.${k}` : k);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      out.push(`${path || '(root)'} (${JSON.stringify(a) ?? 'unset'} -> ${JSON.stringify(b) ?? 'unset'})`);
    }
  };
  walk(before, after, '');
  return out;
}
