/** How a fleet names the devices it registers: `<prefix>-<index>`, so a later clean-up can find them. */
export function fleetDeviceName(prefix: string, index: number): string {
  return `${prefix}-${index}`;
}

/** Whether `name` is one a fleet with this prefix gives (exactly `<prefix>-<n>`). */
export function isFleetDeviceName(name: string, prefix: string): boolean {
  return name.startsWith(`${prefix}-`) && /^\d+$/.test(name.slice(prefix.length + 1));
}
