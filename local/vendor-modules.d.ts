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
    store: {
      getResourcePath(bucket: string, key: string, resource: string): string;
      /** The bucket, or null when there is none (the HTTP handlers' NoSuchBucket check). */
      getBucket(bucket: string): Promise<object | null>;
      /** What PutObject's store call writes after the bytes: their MD5 (the ETag) and the object's metadata. */
      putMetadata(bucket: string, key: string, metadata: Record<string, string | number>, md5: string): Promise<void>;
      /** PutObject's (and multipart completion's) write: an S3Object's body (a Buffer or a stream) and its metadata. */
      putObject(object: { bucket: string; key: string; content: import("node:stream").Readable | Buffer; metadata: Record<string, string | number> }): Promise<{ md5: string; size: number }>;
      /** Removes the object's bytes, MD5 and metadata (each may be missing), then its emptied folders. */
      deleteObject(bucket: string, key: string): Promise<void>;
    };
  }
  export = S3rver;
}

declare module "s3rver/lib/models/object" {
  /** `metadata`: request headers, lower case (content-length, content-type, etag, x-amz-meta-*). */
  class S3Object {
    constructor(bucket: string, key: string, content: import("node:stream").Readable | Buffer | null, metadata: Record<string, string | number>);
    /** The headers kept as the object's metadata (a default content-type added). */
    readonly metadata: Record<string, string | number>;
  }
  export = S3Object;
}

declare module "s3rver/lib/models/event" {
  /** The S3 event record s3rver emits ("event") after a PutObject; `eventData.S3Item` is the stored object's S3Object. */
  class S3Event {
    constructor(eventData: { bucket: string; eventType: "Put"; S3Item: object }, request: { reqHeaders: Record<string, string>; sourceIp: string });
  }
  export = S3Event;
}

declare module "dynalite" {
  import type { Server } from "node:http";
  function dynalite(options?: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number; path?: string }): Server;
  export = dynalite;
}
