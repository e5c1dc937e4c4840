/**
 * Waits for `p` to settle, but no longer than `ms`: true when it settled (resolved or rejected) in time, false
 * when the time ran out. For closing SDK clients, whose close can wait for good on a peer that is gone.
 */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
