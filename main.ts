// Entry point of `cdktf synth`: ETL_CONFIG picks the configuration file, ETL_ENV its environment.
import { prepareBundles } from "./stacks/bundle";

async function main(): Promise<void> {
  // esbuild works in its own process while this one loads the provider classes.
  const bundling = prepareBundles();
  bundling.catch(() => undefined); // awaited below; a config error may end the run first
  const [{ buildApp }, { loadConfig }] = await Promise.all([import("./stacks/app"), import("./core/config")]);
  const config = loadConfig();
  await bundling;
  buildApp(config).app.synth();
}

main().catch((e: Error) => {
  // Configuration and ASL errors name the file and field: a stack trace would only hide that.
  console.error(e.name === "ConfigError" || e.name === "AslError" ? e.message : (e.stack ?? e.message));
  process.exit(1);
});
