// autocannon 8 ships no types; this declares the part of its API the bench uses.
declare module 'autocannon' {
  interface Histogram {
    readonly average: number;
    readonly p50: number;
    readonly p99: number;
  }
  interface AutocannonOptions {
    url: string;
    connections?: number;
    duration?: number;
    headers?: Record<string, string>;
    method?: string;
    /** Each connection loops over these; `setupRequest` may rewrite one (e.g. its path). */
    requests?: {
      method?: string;
      setupRequest?: (request: { path?: string }) => { path?: string };
    }[];
  }
  interface AutocannonResult {
    readonly requests: Histogram & { readonly total: number };
    readonly latency: Histogram;
    readonly errors: number;
    readonly timeouts: number;
    readonly non2xx: number;
    readonly duration: number;
  }
  function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
  export default autocannon;
}
