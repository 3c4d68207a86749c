/**
 * Conformance runs from the console's device page. The server does not know the harness (the CLI
 * wires it in, see cli/commands/up.ts): it hands a runner a short-lived token of the device's
 * owner and the API's own URL, and keeps the HTML report the runner returns, for that user only.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Accounts } from '../accounts.ts';
import type { DeviceRegistry } from '../devices.ts';
import { ApiError, notFound } from '../api/api-error.ts';
import { requireUser } from '../api/auth-routes.ts';
import { DeviceId, ErrorAnswer } from '../api/schemas.ts';

export interface ConformanceTarget {
  /** The API's own base URL, e.g. https://127.0.0.1:8443. */
  apiUrl: string;
  /** PEM of the root the API's certificate chains to. */
  caPem: string;
  /** A bearer token of the device's owner, valid for the run only. */
  token: string;
  deviceId: string;
}

export interface ConformanceSummary {
  passed: number;
  failed: number;
  notApplicable: number;
  /** One line: why the run ended as it did. */
  verdict: string;
}

export interface ConformanceRunner {
  run(target: ConformanceTarget): Promise<ConformanceSummary & { html: string }>;
}

export interface ConformanceRouteOptions {
  runner: ConformanceRunner;
  accounts: Accounts;
  devices: DeviceRegistry;
  apiUrl(): string;
  caPem: string;
}

const REPORTS_PER_USER = 5;
const RUNS_AT_ONCE = 2;
const RUN_TOKEN_TTL_MS = 10 * 60_000;
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'none'";

interface StoredReport {
  userId: string;
  deviceId: string;
  html: string;
}

export function registerConformanceRoutes(app: FastifyInstance, options: ConformanceRouteOptions): void {
  const reports = new Map<string, StoredReport>();
  const running = new Set<string>(); // user ids
  const params = Type.Object({ deviceId: DeviceId });

  app.post<{ Params: { deviceId: string } }>(
    '/api/v1/devices/:deviceId/conformance',
    {
      schema: {
        tags: ['console'],
        summary: 'Run the conformance suite against one of your devices; answers with a summary and the report id',
        params,
        response: { 200: Type.Object({ reportId: Type.String(), passed: Type.Integer(), failed: Type.Integer(), notApplicable: Type.Integer(), verdict: Type.String() }), 404: ErrorAnswer, 429: ErrorAnswer },
      },
    },
    async (request) => {
      const userId = await requireUser(request, options.accounts);
      const deviceId = request.params.deviceId;
      await options.devices.requireOwned(userId, deviceId);
      if (running.has(userId)) throw new ApiError(429, 'TOO_MANY_REQUESTS', 'a conformance run of yours is in progress; wait for its report');
      if (running.size >= RUNS_AT_ONCE) throw new ApiError(429, 'TOO_MANY_REQUESTS', 'the server is running other conformance suites; retry in a minute', undefined, { 'retry-after': '30' });
      running.add(userId);
      const session = await options.accounts.issueSession(userId, RUN_TOKEN_TTL_MS);
      try {
        const run = await options.runner.run({ apiUrl: options.apiUrl(), caPem: options.caPem, token: session.token, deviceId });
        const reportId = randomBytes(12).toString('base64url');
        reports.set(reportId, { userId, deviceId, html: run.html });
        const own = [...reports].filter(([, report]) => report.userId === userId);
        for (const [id] of own.slice(0, Math.max(0, own.length - REPORTS_PER_USER))) reports.delete(id);
        return { reportId, passed: run.passed, failed: run.failed, notApplicable: run.notApplicable, verdict: run.verdict };
      } finally {
        running.delete(userId);
        await options.accounts.logout(session.token);
      }
    },
  );

  app.get<{ Params: { reportId: string } }>(
    '/api/v1/reports/:reportId',
    { schema: { tags: ['console'], summary: 'A conformance report of yours, as HTML', params: Type.Object({ reportId: Type.String({ pattern: '^[A-Za-z0-9_-]{16}$' }) }) } },
    async (request, reply) => {
      const userId = await requireUser(request, options.accounts);
      const report = reports.get(request.params.reportId);
      if (!report || report.userId !== userId) throw notFound('no such report of yours; reports are kept in memory, the last five per user');
      return reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('content-security-policy', REPORT_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-store')
        .send(report.html);
    },
  );
}
