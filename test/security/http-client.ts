/** Raw HTTPS requests from a chosen loopback address (127.0.0.2 is another client to the server). */
import https from 'node:https';

export interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export function request(
  apiUrl: string,
  caPem: string,
  method: string,
  path: string,
  options: { body?: string; contentType?: string; token?: string; from?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const req = https.request(new URL(path, apiUrl), { method, headers, ca: caPem, agent: false, ...(options.from ? { localAddress: options.from } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export function post(apiUrl: string, caPem: string, path: string, json: unknown, from?: string): Promise<Answer> {
  return request(apiUrl, caPem, 'POST', path, { body: JSON.stringify(json), ...(from ? { from } : {}) });
}

export function countStatuses(answers: Answer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const answer of answers) counts[answer.status] = (counts[answer.status] ?? 0) + 1;
  return counts;
}
