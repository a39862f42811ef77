// The diagram of the shipped workflow (asl/etl-workflow.asl.json with etl.config.json), whatever ETL_CONFIG says.
// The diagram tool's mechanisms are tested in test/tools/diagram.test.ts.
import { expect } from "chai";
import { DEFAULT_CONFIG_FILE } from "../../core/config";
import { diagramDocument, loadBaseConfig } from "../../tools/diagram";

describe("example: the shipped workflow's diagram", () => {
  it("renders the shipped workflow: branches as subgraphs, tasks labelled with what they run", () => {
    const doc = diagramDocument(loadBaseConfig(DEFAULT_CONFIG_FILE));
    // A branch is its wait task, then its job: no kick states.
    expect(doc).to.not.include("putEvents");
    expect(doc.split("\n")).to.include("  s_WaitForSalesData --> s_PSD");
    expect(doc).to.match(/^```mermaid\nflowchart TD\n/m);
    for (const line of [
      '  subgraph s_ProcessDatasets["ProcessDatasets<br/>Parallel"]',
      '    subgraph s_ProcessDatasets__branch1["branch 1"]',
      '    subgraph s_ProcessDatasets__branch2["branch 2"]',
      '      s_PSD["PSD<br/>Glue job etl-dev-PSD"]',
      '      s_WaitForMarketingData["WaitForMarketingData<br/>wait for marketing upload"]',
      '  s_JMSD["JMSD<br/>Glue job etl-dev-JMSD"]',
      '  s_WorkflowSucceeded(["WorkflowSucceeded<br/>Succeed"]):::succeed',
      '  s_DefaultDataSince -->|"$.dataSince is present"| s_ProcessDatasets',
      '  s_ProcessDatasets --> s_JMSD',
      '  s_JMSD -.->|"retry JobRetryableError up to 6× (30 s, backoff 2)"| s_JMSD',
    ])
      expect(doc.split("\n")).to.include(line);
  });

});
