/** A small HTTPS client for the console's route tests: trusts the test server's root, keeps headers as they come. */
import https from 'node:https';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = unknown>(): T;
}

export function request(url: string, caPem: string, options: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = https.request(
      url,
      { method: options.method ?? 'GET', ca: caPem, headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode!, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Server-Sent Events from `url`, parsed; `next(name)` resolves with the next event of that name. */
export function openEvents(url: string, caPem: string, headers: Record<string, string>) {
  const events: { event: string; data: string }[] = [];
  const waiters: { name: string; resolve: (data: string) => void }[] = [];
  let seen = 0;
  let buffer = '';
  let status = 0;
  const req = https.get(url, { ca: caPem, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
    status = res.statusCode!;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === undefined || data === undefined) continue;
        events.push({ event, data });
        for (const waiter of waiters.splice(0)) {
          if (waiter.name === event) waiter.resolve(data);
          else waiters.push(waiter);
        }
      }
    });
  });
  req.on('error', () => undefined);
  return {
    events,
    status: () => status,
    /** The next event named `name` after those already taken. */
    next(name: string): Promise<string> {
      const found = events.slice(seen).findIndex((e) => e.event === name);
      if (found >= 0) {
        seen += found + 1;
        return Promise.resolve(events[seen - 1]!.data);
      }
      return new Promise((resolve) => waiters.push({ name, resolve: (data) => { seen = events.length; resolve(data); } }));
    },
    close: () => req.destroy(),
  };
}
