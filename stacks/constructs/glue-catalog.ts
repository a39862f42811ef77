import { basename } from "node:path";
import { GlueCatalogDatabase } from "@cdktf/provider-aws/lib/glue-catalog-database";
import { GlueCatalogTable, type GlueCatalogTableStorageDescriptorColumns } from "@cdktf/provider-aws/lib/glue-catalog-table";
import { Construct } from "constructs";
import { resourceNames, schemaPath, type EtlConfig } from "../../core/config";
import { readSchemaFile } from "../../core/schema-file";
import type { Grantee } from "./grantee";
import type { SecureBucket } from "./secure-bucket";

export interface GlueCatalogProps {
  /** The configuration: the database name (glue.databaseName), the datasets and the jobs with a catalogSchema. */
  readonly config: EtlConfig;
  /** The data lake the tables' locations point into. */
  readonly dataLake: SecureBucket;
  /** The account's Data Catalog, `arn:<partition>:glue:<region>:<account>:catalog` (every catalog grant names it). */
  readonly catalogArn: string;
}

/**
 * The Data Catalog of the project, for Athena: one database, an external CSV table per raw dataset (every column a
 * string: the dates are M/D/YYYY, which no Hive type parses) and a Parquet table per job output that has a
 * catalog schema (`jobs.<id>.catalogSchema`).
 */
export class GlueCatalog extends Construct {
  readonly database: GlueCatalogDatabase;
  /** Tables by name (`raw_<dataset>`, or the catalog schema's base name). */
  readonly tables: Record<string, GlueCatalogTable> = {};
  private readonly catalogArn: string;

  constructor(scope: Construct, id: string, props: GlueCatalogProps) {
    super(scope, id);
    const { config, dataLake } = props;
    this.catalogArn = props.catalogArn;
    this.database = new GlueCatalogDatabase(this, "database", { name: config.glue.databaseName, description: `Tables of ${resourceNames(config).prefix} for Athena` });

    for (const [dataset, d] of Object.entries(config.datasets)) {
      const schema = readSchemaFile(schemaPath(config, d.schema));
      this.addTable(`table-raw-${dataset}`, `raw_${dataset}`, {
        tableType: "EXTERNAL_TABLE",
        description: `Raw ${dataset} CSV uploads. Every column is a string (dates are M/D/YYYY); the processed tables carry the types.`,
        parameters: { EXTERNAL: "TRUE", classification: "csv", "skip.header.line.count": "1" },
        storageDescriptor: {
          location: dataLake.uri(d.prefix),
          inputFormat: "org.apache.hadoop.mapred.TextInputFormat",
          outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
          serDeInfo: { serializationLibrary: "org.apache.hadoop.hive.serde2.OpenCSVSerde", parameters: { separatorChar: ",", quoteChar: '"', escapeChar: "\\" } },
          columns: schema.columns.map((c) => ({ name: c.name, type: "string", comment: `${c.source ?? c.name}: ${c.type}` })),
        },
      });
    }
    for (const [jobId, job] of Object.entries(config.jobs)) {
      if (!job.catalogSchema) continue;
      const schema = readSchemaFile(schemaPath(config, job.catalogSchema));
      this.addTable(`table-${jobId}`, basename(job.catalogSchema, ".json"), {
        tableType: "EXTERNAL_TABLE",
        description: `Output of job ${jobId}${job.description ? `: ${job.description}` : ""}`,
        parameters: { EXTERNAL: "TRUE", classification: "parquet", "parquet.compression": "SNAPPY" },
        storageDescriptor: {
          location: dataLake.uri(job.output),
          inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
          outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
          serDeInfo: { serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" },
          columns: schema.columns.map((c): GlueCatalogTableStorageDescriptorColumns => ({ name: c.name, type: c.type })),
        },
      });
    }
  }

  private addTable(id: string, name: string, props: Omit<ConstructorParameters<typeof GlueCatalogTable>[2], "databaseName" | "name">): void {
    if (this.tables[name]) throw new Error(`${this.node.path}: two tables would be named '${name}' (${id} and another); rename a catalogSchema file or a dataset`);
    this.tables[name] = new GlueCatalogTable(this, id, { databaseName: this.database.name, name, ...props });
  }

  /** Lets `grantee` read the database's metadata and its tables' (as Athena needs to query them); not the data. */
  grantRead(grantee: Grantee): void {
    grantee.addToRolePolicy("glue-catalog", [
      {
        Sid: "ReadCatalog",
        Action: ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"],
        Resource: [this.catalogArn, this.database.arn, ...Object.values(this.tables).map((t) => t.arn)],
      },
    ]);
  }
}
