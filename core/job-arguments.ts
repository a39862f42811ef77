// The Glue job arguments of each job, shared by the glue stack and the local Glue service,
// so both run a job on the same inputs and outputs. Must not import cdktf.
import { basename } from "node:path";
import type { EtlConfig } from "./config";
import { sqlPath } from "./config";
import { jobQualityLimits } from "./quality";
import { glueCountsKey } from "./runner-environment";

export interface EtlInput {
  /** The view name the job's SQL reads. */
  name: string;
  /** S3 URI of the input prefix. */
  path: string;
  format: "csv" | "parquet";
  /** Schema file name in glue-scripts/schemas/, for CSV inputs. */
  schema?: string;
}

export interface JobArguments {
  "--etl_inputs": string;
  "--etl_output": string;
  "--etl_sql": string;
  /** The job's data-quality limits (core/quality.ts QualityLimits, JSON). */
  "--etl_quality": string;
}

/** Arguments that tell a job's script (or the local engine) what to read and where to write. */
export function jobArguments(config: EtlConfig, jobId: string, dataBucket: string): JobArguments {
  const job = config.jobs[jobId];
  if (!job) throw new Error(`unknown job '${jobId}'; known: ${Object.keys(config.jobs).join(", ")}`);
  const uri = (prefix: string) => `s3://${dataBucket}/${prefix}`;
  const inputs: EtlInput[] = job.inputs.map((input) =>
    input.dataset !== undefined
      ? { name: input.name, path: uri(config.datasets[input.dataset].prefix), format: "csv", schema: config.datasets[input.dataset].schema }
      : { name: input.name, path: uri(config.jobs[input.job!].output), format: "parquet" },
  );
  return { "--etl_inputs": JSON.stringify(inputs), "--etl_output": uri(job.output), "--etl_sql": basename(sqlPath(config, job)),
    "--etl_quality": JSON.stringify(jobQualityLimits(config, jobId)),
  };
}

/** A Glue job's arguments: jobArguments, and --etl_counts, where it writes its counts object (glueCountsKey). */
export function glueJobArguments(config: EtlConfig, jobId: string, dataBucket: string, jobName: string): JobArguments & { "--etl_counts": string } {
  return { ...jobArguments(config, jobId, dataBucket), "--etl_counts": `s3://${dataBucket}/${glueCountsKey(config, jobName)}` };
}
