/** Progress lines for long CLI commands (chain verify, backup, restore): at most one every 2 s, and the last. */
export function progress(verb: string, total: number, write = (line: string) => console.error(line)) {
  let last = 0;
  return (done: number): void => {
    const now = Date.now();
    if (done === total || now - last > 2000) {
      last = now;
      write(`${verb} ${done}/${total} blocks (${total === 0 ? 100 : Math.floor((done / total) * 100)}%)`);
    }
  };
}
