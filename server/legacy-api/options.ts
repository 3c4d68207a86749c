/** What the original API is built over: the same parts as /api/v1. */
import type { Accounts } from '../accounts.ts';
import type { DeviceRegistry } from '../devices.ts';
import type { DeviceBus } from '../bus/device-bus.ts';
import type { LoginLimiter } from '../api/login-limiter.ts';
import type { AddressRateLimit } from '../api/address-rate-limit.ts';

export interface LegacyApiOptions {
  accounts: Accounts;
  devices: DeviceRegistry;
  bus: DeviceBus;
  rootCaPem: string;
  /** Where registrations tell devices to connect (AppOptions.deviceUrl). */
  deviceUrl: string;
  /** The /api/v1 login limiter itself: failures on either API count together. */
  limiter: LoginLimiter;
  /** The /api/v1 per-address budgets: sign-ups, and RSA-2048 registrations (every original registration is one). */
  signups: AddressRateLimit;
  rsaRegistrations: AddressRateLimit;
  defaultTimeoutMs: number;
}

/** The original client calls some routes with GET and some with POST: both are served. */
export const LEGACY_METHODS = ['GET', 'POST'] as const;
export const LEGACY_TAG = 'original libpyiotcloud API';
