import type { Server } from 'node:http';

export interface StaticServer {
  server: Server;
  port: number;
  /** Base URL ending in '/'. */
  url: string;
  close(): Promise<void>;
}

export function startStaticServer(root: string, options?: { host?: string; port?: number }): Promise<StaticServer>;
