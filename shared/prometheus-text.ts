/** Reading Prometheus text exposition (what /metrics answers): the samples of one metric. */

/** The samples of `metric` as [labels, value], in the order they appear. */
export function metricSamples(text: string, metric: string): [Record<string, string>, number][] {
  const out: [Record<string, string>, number][] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || (line[metric.length] !== '{' && line[metric.length] !== ' ')) continue;
    const labels: Record<string, string> = {};
    const close = line.lastIndexOf('}');
    if (line[metric.length] === '{') {
      for (const m of line.slice(metric.length + 1, close).matchAll(/(\w+)="([^"]*)"/g))
        labels[m[1]!] = m[2]!;
    }
    out.push([labels, Number(line.slice(close === -1 ? metric.length : close + 1).trim())]);
  }
  return out;
}
