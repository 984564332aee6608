import type { Server } from 'node:http';

export interface StaticServer {
  server: Server;
  port: number;
  /** Base URL ending in '/'. */
  url: string;
  close(): Promise<void>;
}

export interface ServedRequest {
  method: string;
  /** URL path without the query. */
  path: string;
  /** The Range header, or null. */
  range: string | null;
}

export function startStaticServer(
  root: string,
  options?: { host?: string; port?: number; files?: Record<string, string>; onRequest?: (r: ServedRequest) => void },
): Promise<StaticServer>;
