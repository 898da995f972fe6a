export { Telemetry, TelemetryTopic, CHANNELS, subscribe } from './telemetry.ts';
export { hasDiagnosticsChannel } from './channels.ts';
export type * from './events.ts';
