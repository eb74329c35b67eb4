/** A member municipality as the deployment generators (compose, bundles, Kubernetes) take it. */
export interface Member {
  name: string;
  cvr: string;
  publicKey: string;
  /** DNS name or IP other municipalities reach this node at (p2p, TCP 7201). */
  host: string;
  role?: 'authority' | 'observer';
}

/** A directory (and DNS) name from a municipality's name: lower case, æøå spelled out. */
export const slug = (name: string): string =>
  name
    .toLowerCase()
    .replace(/æ/g, 'ae')
    .replace(/ø/g, 'oe')
    .replace(/å/g, 'aa')
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

export const pad = (i: number) => String(i).padStart(2, '0');

export const municipality = (i: number) => ({ name: `Kommune ${pad(i)}`, cvr: String(29189846 + i - 1) });

/** The municipalities of a `central` network: they run no node and reach it through the gateway. */
