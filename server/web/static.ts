/**
 * Serves the built web console (console/dist, built by `npm install` / `npm run build:console`)
 * on the API's origin: files read once at start, compressed once (brotli, gzip), served with a
 * strict Content-Security-Policy (no inline script, Trusted Types) and the usual security headers.
 * The console routes by URL fragment (`/#/devices`), so it owns only `/` and `/assets/`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const defaultConsoleDir = fileURLToPath(new URL('../../console/dist/', import.meta.url));

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** Headers every console page and asset carries. */
export function securityHeaders(https: boolean): Record<string, string> {
  return {
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=()',
    ...(https ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
};

interface Asset {
  type: string;
  etag: string;
  body: Buffer;
  br?: Buffer;
  gzip?: Buffer;
  immutable: boolean;
}

export interface ConsoleFiles {
  dir: string;
  assets: Map<string, Asset>;
}

/** Reads and compresses the built console; undefined when it has not been built. */
export function loadConsoleFiles(dir: string = defaultConsoleDir): ConsoleFiles | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const assets = new Map<string, Asset>();
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const urlPath = `/${relative(dir, path).split(sep).join('/')}`;
        const body = readFileSync(path);
        const type = TYPES[extname(name)] ?? 'application/octet-stream';
        const compressible = /^(text\/|application\/(json|manifest)|image\/svg)/.test(type) && body.length > 512;
        assets.set(urlPath, {
          type,
          body,
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
          immutable: urlPath.startsWith('/assets/'), // Vite puts a content hash in these names
          ...(compressible ? { br: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }), gzip: gzipSync(body, { level: 9 }) } : {}),
        });
      }
    }
  };
  walk(dir);
  return { dir, assets };
}

export const CONSOLE_NOT_BUILT = 'The web console is not built. Build it with `npm run build:console` (`npm install` does it too), then restart `iotcloud up`. The REST API works without it: see /api/v1/openapi.json\n';

export function registerConsoleStatic(app: FastifyInstance, files: ConsoleFiles | undefined, https: boolean): void {
  const headers = securityHeaders(https);
  if (!files) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.code(503).headers(headers).header('content-type', 'text/plain; charset=utf-8').send(CONSOLE_NOT_BUILT));
    return;
  }
  const serve = (asset: Asset) => async (request: FastifyRequest, reply: FastifyReply) => {
    reply.headers(headers).header('content-type', asset.type).header('etag', asset.etag).header('vary', 'accept-encoding');
    reply.header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    const accepts = request.headers['accept-encoding'] ?? '';
    if (asset.br && /\bbr\b/.test(accepts)) return reply.header('content-encoding', 'br').send(asset.br);
    if (asset.gzip && /\bgzip\b/.test(accepts)) return reply.header('content-encoding', 'gzip').send(asset.gzip);
    return reply.send(asset.body);
  };
  for (const [path, asset] of files.assets) {
    if (path === '/index.html') app.get('/', { schema: { hide: true } }, serve(asset));
    else app.get(path, { schema: { hide: true } }, serve(asset));
  }
}
