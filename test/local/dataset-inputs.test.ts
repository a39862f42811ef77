// `npm start`'s dataset flags (local/dataset-inputs.ts), against the active configuration and the fixture.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { expect } from "chai";
import { DEFAULT_CONFIG_FILE, loadConfig, type EtlConfig } from "../../core/config";
import { DATASET_OPTIONS, datasetArguments, DatasetArgumentError, datasetHelp, DELAY_SHORTHANDS, INPUT_SHORTHANDS, MAX_DELAY_MS } from "../../local/dataset-inputs";
import { parseCliArguments } from "../../local/cli";
import { FIXTURE_CONFIG } from "../stacks/synth";

/** The flags as the CLI parses them. */
function parse(config: EtlConfig, argv: string[]) {
  const { values } = parseArgs({ args: argv, options: DATASET_OPTIONS, strict: true, allowPositionals: false });
  return datasetArguments(config, values);
}
function failure(config: EtlConfig, argv: string[]): string {
  try {
    parse(config, argv);
  } catch (e) {
    expect(e).to.be.instanceOf(DatasetArgumentError);
    return (e as Error).message;
  }
  throw new Error(`expected ${argv.join(" ")} to fail`);
}

for (const [label, file] of [
  ["the active configuration", process.env.ETL_CONFIG ?? DEFAULT_CONFIG_FILE],
  ["the three-datasets fixture", FIXTURE_CONFIG],
] as const) {
  describe(`local/dataset-inputs with ${label}`, () => {
    const config = loadConfig(file, file === FIXTURE_CONFIG ? undefined : process.env.ETL_ENV || undefined);
    const datasets = Object.keys(config.datasets);
    const known = `configured datasets: ${datasets.join(", ")}`;

    it("maps --input NAME=FILE and --delay NAME=MS for every configured dataset (FILE resolved, '=' allowed in it)", () => {
      const argv = datasets.flatMap((d, i) => ["--input", `${d}=data/${d}=v${i}.csv`, "--delay", `${d}=${i * 250}`]);
      expect(parse(config, argv)).to.deep.equal({
        inputs: Object.fromEntries(datasets.map((d, i) => [d, resolve(`data/${d}=v${i}.csv`)])),
        uploadDelaysMs: Object.fromEntries(datasets.map((d, i) => [d, i * 250])),
      });
      expect(parse(config, [])).to.deep.equal({ inputs: {}, uploadDelaysMs: {} });
    });

    it("names an unknown dataset with the configured ones, and a malformed pair", () => {
      expect(failure(config, ["--input", "no_such_data=x.csv"])).to.equal(`--input no_such_data=x.csv: unknown dataset 'no_such_data'; ${known}`);
      expect(failure(config, ["--delay", "no_such_data=5"])).to.equal(`--delay no_such_data=5: unknown dataset 'no_such_data'; ${known}`);
      expect(failure(config, ["--input", "x.csv"])).to.equal(`--input "x.csv": expected NAME=FILE (a configured dataset and its CSV file); ${known}`);
      expect(failure(config, ["--delay", "=5"])).to.equal(`--delay "=5": expected NAME=MS (a configured dataset and a whole number of milliseconds); ${known}`);
      expect(failure(config, ["--input", `${datasets[0]}=`])).to.equal(`--input ${datasets[0]}=: the file name is empty`);
    });

    it("names a bad or too long delay", () => {
      const d = datasets[0];
      expect(failure(config, ["--delay", `${d}=soon`])).to.equal(`--delay ${d}=soon: expected a whole number of milliseconds, got "soon"`);
      expect(failure(config, ["--delay", `${d}=-5`])).to.equal(`--delay ${d}=-5: expected a whole number of milliseconds, got "-5"`);
      expect(failure(config, ["--delay", `${d}=${MAX_DELAY_MS + 1}`])).to.include(`at most ${MAX_DELAY_MS} milliseconds`);
      expect(parse(config, ["--delay", `${d}=${MAX_DELAY_MS}`]).uploadDelaysMs[d]).to.equal(MAX_DELAY_MS);
    });

    it("refuses a dataset given twice, naming both flags", () => {
      const d = datasets.at(-1)!;
      expect(failure(config, ["--input", `${d}=a.csv`, "--input", `${d}=b.csv`])).to.equal(`--input ${d}=b.csv: the ${d} dataset is already given by --input ${d}=a.csv`);
      expect(failure(config, ["--delay", `${d}=1`, "--delay", `${d}=2`])).to.equal(`--delay ${d}=2: the ${d} dataset is already given by --delay ${d}=1`);
    });

    it("keeps --sales/--marketing/--delay-sales/--delay-marketing as shorthands, where the configuration has those datasets", () => {
      for (const [flag, dataset] of Object.entries(INPUT_SHORTHANDS)) {
        if (datasets.includes(dataset)) {
          expect(parse(config, [`--${flag}`, "f.csv"]).inputs).to.deep.equal({ [dataset]: resolve("f.csv") });
          expect(failure(config, [`--${flag}`, "f.csv", "--input", `${dataset}=g.csv`])).to.equal(`--input ${dataset}=g.csv: the ${dataset} dataset is already given by --${flag}`);
        } else {
          expect(failure(config, [`--${flag}`, "f.csv"])).to.equal(`--${flag}: the configuration has no dataset '${dataset}' (use --input NAME=FILE); ${known}`);
        }
      }
      for (const [flag, dataset] of Object.entries(DELAY_SHORTHANDS)) {
        if (datasets.includes(dataset)) {
          expect(parse(config, [`--${flag}`, "40"]).uploadDelaysMs).to.deep.equal({ [dataset]: 40 });
          expect(failure(config, [`--${flag}`, "4s"])).to.equal(`--${flag}: expected a whole number of milliseconds, got "4s"`);
        } else {
          expect(failure(config, [`--${flag}`, "40"])).to.include(`--${flag}: the configuration has no dataset '${dataset}'`);
        }
      }
    });

    it("reaches the CLI's arguments: inputs and upload delays by dataset; errors are usage errors", () => {
      const d = datasets.at(-1)!;
      const args = parseCliArguments(["--input", `${d}=x.csv`, "--delay", `${d}=7`], config);
      expect(args.options.inputs).to.deep.equal({ [d]: resolve("x.csv") });
      expect(args.options.uploadDelaysMs).to.deep.equal({ [d]: 7 });
      expect(() => parseCliArguments(["--input", "nope=x.csv"], config)).to.throw(/unknown dataset 'nope'/).with.property("name", "UsageError");
    });

    it("lists every configured dataset in the help, with its prefix, schema and default data", () => {
      const help = datasetHelp(config, "this configuration");
      expect(help.split("\n")[0]).to.equal("Datasets of this configuration (NAME for --input and --delay):");
      expect(help.split("\n")).to.have.length(datasets.length + 1);
      for (const [name, d] of Object.entries(config.datasets)) expect(help).to.match(new RegExp(`^  ${name} +upload prefix ${d.prefix}, schema ${d.schema}; default data generated `, "m"));
    });
  });
}

describe("local/dataset-inputs: shorthands of datasets a configuration does not have", () => {
  it("names the shorthand, the missing dataset and the generic flag", () => {
    const base = loadConfig(FIXTURE_CONFIG);
    const [name, dataset] = Object.entries(base.datasets).find(([n]) => !(n in INPUT_SHORTHANDS))!;
    const config = { ...base, datasets: { [name]: dataset } };
    expect(failure(config, ["--sales", "f.csv"])).to.equal(`--sales: the configuration has no dataset 'sales' (use --input NAME=FILE); configured datasets: ${name}`);
    expect(failure(config, ["--delay-marketing", "5"])).to.equal(`--delay-marketing: the configuration has no dataset 'marketing' (use --delay NAME=MS); configured datasets: ${name}`);
  });
});
