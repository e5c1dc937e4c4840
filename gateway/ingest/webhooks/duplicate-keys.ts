/**
 * Finds a repeated property name in JSON text, which JSON.parse silently resolves (the last one wins). xAPI
 * 1.0.3 requires an LRS to reject a statement with duplicate properties; a webhook that accepted it would
 * store whichever actor came last. Pure; assumes `text` already parsed as JSON (so it is well formed).
 */

/** The JSON path of the first object key that appears twice in its object (`actor`, `[1].verb.display.en-US`), or undefined. */
export function firstDuplicateKey(text: string): string | undefined {
  // Each open container: its keys so far (objects) or its next index (arrays), and its path.
  const stack: { keys: Set<string> | null; index: number; path: string; key: string | null }[] = [];
  let i = 0;
  const n = text.length;
  let expectKey = false;
  const childPath = () => {
    const top = stack[stack.length - 1];
    if (!top) return '';
    if (top.keys === null) return `${top.path}[${top.index}]`;
    return top.path ? `${top.path}.${top.key}` : (top.key ?? '');
  };
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < n && text[j] !== '"') {
        if (text[j] === '\\') {
          s += text.slice(j, j + 2);
          j += 2;
        } else s += text[j++];
      }
      const top = stack[stack.length - 1];
      if (expectKey && top && top.keys !== null) {
        const key = JSON.parse(`"${s}"`) as string;
        if (top.keys.has(key)) return top.path ? `${top.path}.${key}` : key;
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') {
      stack.push({ keys: c === '{' ? new Set() : null, index: 0, path: childPath(), key: null });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.keys === null) top.index++;
      else expectKey = true;
    }
    i++;
  }
  return undefined;
}
