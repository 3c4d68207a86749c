/** Fleets of simulated devices: thousands of realistic boards from one process. Import from here. */
export { runFleet, FleetCleanupError, FleetOptionsError, type FleetServer, type RunFleetOptions } from './run.ts';
export { Fleet, type FleetEvents, type FleetMember, type FleetOptions, type FleetPhase, type FleetProgress, type MemberState } from './fleet.ts';
export {
  checkShareTotal,
  parseProfileShare,
  parseProfileShares,
  planProfiles,
  profileShareSyntax,
  ProfileShareError,
  type ProfileGroup,
  type ProfilePlan,
  type ProfileShare,
} from './shares.ts';
export { provisionFleet, FleetProvisionError, type ProvisionOptions } from './provision.ts';
export { loadFleetCredentials, saveFleetCredentials, FleetCredentialsError, MANIFEST_FILE, type FleetCredentials, type FleetIdentity } from './credentials.ts';
export { jsonLine, planText, ProgressReporter, statusLine, summaryText, type CleanupResult, type DeviceRecord, type FleetSummary, type ProgressSink, type RunPhase, type RunProgress, type StopReason } from './progress.ts';
export { ErrorTally, type ErrorGroup } from './errors.ts';
export { openFileLimit, openFileWarning, OPEN_FILE_HEADROOM, type OpenFileLimit } from './limits.ts';
