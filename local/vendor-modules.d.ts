// Minimal types for the two local-service packages that ship none.
declare module "s3rver" {
  import type { EventEmitter } from "node:events";
  import type { AddressInfo } from "node:net";
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    configureBuckets?: Array<{ name: string }>;
  }
  class S3rver extends EventEmitter {
    constructor(options?: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    httpServer?: import("node:http").Server;
    /** Where the filesystem store keeps things: `getResourcePath(bucket, key, "object")` is an object's bytes. */
    store: { getResourcePath(bucket: string, key: string, resource: string): string };
  }
  export = S3rver;
}

declare module "dynalite" {
  import type { Server } from "node:http";
  function dynalite(options?: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number; path?: string }): Server;
  export = dynalite;
}
