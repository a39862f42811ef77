// s3://bucket/key URIs, as job specs and JOB_SPECS_URI give them.

export interface S3Location {
  bucket: string;
  /** The key, or a key prefix ending with "/". */
  key: string;
}

export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!match) throw new Error(`not an S3 URI (s3://bucket/key): ${JSON.stringify(uri)}`);
  return { bucket: match[1], key: match[2] };
}

/** Where the run of a task writes before its result is published: <stagingUri><taskId>/. */
export const stagingRunUri = (stagingUri: string, taskId: string) => `${stagingUri}${taskId}/`;

/** Where an Athena run's counts statement writes (next to its staging folder, never published): <stagingUri><taskId>.counts/. */
export const countsRunUri = (stagingUri: string, taskId: string) => `${stagingUri}${taskId}.counts/`;

/** Where an Athena run's bound statements are kept from its start (a restart reuses them, its counts read them): <stagingUri><taskId>.statements.json. */
export const statementsRunUri = (stagingUri: string, taskId: string) => `${stagingUri}${taskId}.statements.json`;
