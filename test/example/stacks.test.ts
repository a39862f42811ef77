// The shipped example's own synthesized stacks (etl.config.json and asl/etl-workflow.asl.json as shipped), whatever
// ETL_CONFIG says. Tests of the stacks' mechanisms, which follow the active configuration, are in test/stacks/.
import { expect } from "chai";
import { DEFAULT_CONFIG_FILE } from "../../core/config";
import { resources, synthFile } from "../stacks/synth";

describe("example: the shipped configuration's stacks", () => {
  it("state-machine stack: the workflow file's own \"${...}\" (no placeholder) stays literal for Terraform", () => {
    const sm = synthFile(DEFAULT_CONFIG_FILE).stateMachine;
    const definition = JSON.parse(Object.values(resources(sm, "aws_sfn_state_machine"))[0].definition);
    expect(definition.Comment).to.include("$${...}");
  });
});
