/** The conformance and latency harness: import everything from here. */
export { executeHarness, runHarness, type HarnessLoadOptions, type HarnessOptions, type HarnessRun } from './run.ts';
export * from './targets/index.ts';
export { conformanceSuite, selectCases, statusRunning, type CaseFilter } from './conformance/suite.ts';
export { runSuite, countResults, type CaseResult, type RunSuiteOptions, type SuiteCounts, type SuiteResult } from './conformance/runner.ts';
export type { CaseContext, CaseStatus, CaseVerdict, ConformanceCase } from './conformance/case.ts';
export { LatencyRecorder, type LatencyBin, type LatencySummary } from './load/latency.ts';
export { runLoad, loadOptionsProblem, LoadOptionsError, type LoadOptions, type LoadSummary, type SecondStats } from './load/run-load.ts';
export { ConsoleView, type ConsoleOptions } from './reports/console.ts';
export { exitCodes, exitMeanings, type ExitCode, type RunReport } from './reports/model.ts';
export { renderHtml } from './reports/html.ts';
export { renderJunit } from './reports/junit.ts';
export { reportFileNames, reportFormats, writeIndex, writeReports, type ReportFormat } from './reports/write.ts';
export { buildIndex, indexFileNames, renderIndexHtml, type IndexInput, type IndexedReport, type ReportIndex } from './reports/index-page.ts';
export { spawnDevice, type SpawnedDevice, type SpawnOptions } from './spawn.ts';
export { DutSetupError, failureLatch, spawnedDut, type DeviceUnderTest } from './dut.ts';
