import { GlueCatalogDatabase } from "@cdktf/provider-aws/lib/glue-catalog-database";
import { GlueCatalogTable, type GlueCatalogTableStorageDescriptorColumns } from "@cdktf/provider-aws/lib/glue-catalog-table";
import { Construct } from "constructs";
import { catalogTables } from "../../core/catalog";
import { resourceNames, type EtlConfig } from "../../core/config";
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

    // The tables as core/catalog.ts describes them (the Athena statements and the local Athena read the same).
    for (const table of catalogTables(config)) {
      const csv = table.format === "csv";
      this.addTable("dataset" in table.source ? `table-raw-${table.source.dataset}` : `table-${table.source.job}`, table.name, {
        tableType: "EXTERNAL_TABLE",
        description: table.description,
        parameters: table.parameters,
        storageDescriptor: {
          location: dataLake.uri(table.prefix),
          inputFormat: csv ? "org.apache.hadoop.mapred.TextInputFormat" : "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
          outputFormat: csv ? "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat" : "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
          serDeInfo: { serializationLibrary: table.serde.library, ...(Object.keys(table.serde.parameters).length ? { parameters: table.serde.parameters } : {}) },
          columns: table.columns.map((c): GlueCatalogTableStorageDescriptorColumns => ({ name: c.name, type: c.type, ...(c.comment ? { comment: c.comment } : {}) })),
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
