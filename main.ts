// Entry point of `cdktf synth` (through tools/launch.cjs): ETL_CONFIG picks the configuration file, ETL_ENV its environment.
// The performance marks time the synth's phases for `npm run bench` (bench/synth-phases.cjs).
import { prepareBundles } from "./stacks/bundle";

async function main(): Promise<void> {
  // esbuild works in its own process while this one loads the provider classes.
  const bundling = prepareBundles();
  bundling.catch(() => undefined); // awaited below; a config error may end the run first
  const [{ buildApp }, { loadConfig }, { checkCatalogSchemas }] = await Promise.all([import("./stacks/app"), import("./core/config"), import("./asl/consistency")]);
  performance.mark("synth:imported");
  const config = loadConfig();
  // Catalog schemas against the jobs' SQL, on DuckDB (a devDependency, installed wherever the cdktf CLI is).
  await Promise.all([bundling, checkCatalogSchemas(config)]);
  performance.mark("synth:prepared");
  const { app } = buildApp(config);
  performance.mark("synth:built");
  app.synth();
  performance.mark("synth:written");
}

main().catch((e: Error) => {
  // Configuration and ASL errors name the file and field: a stack trace would only hide that.
  console.error(e.name === "ConfigError" || e.name === "AslError" ? e.message : (e.stack ?? e.message));
  process.exit(1);
});
