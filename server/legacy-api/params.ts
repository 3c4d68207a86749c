/** Reading the original API's JSON bodies: every field a string the route names, or a refusal saying which. */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Credentials, RegisterDevice } from '../api/schemas.ts';
import { refuse } from './answers.ts';

export type Body = Record<string, unknown>;

export function bodyOf(raw: unknown): Body {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return refuse('send the parameters as a JSON object body (content-type application/json)');
  return raw as Body;
}

export function text(body: Body, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') return refuse(`missing parameter ${name}: send it as a non-empty string in the JSON body`);
  return value;
}

const credentials = TypeCompiler.Compile(Credentials);
const deviceName = TypeCompiler.Compile(RegisterDevice.properties.name);

/** The same account rules as /api/v1/auth/signup: one home for them. */
export function checkCredentials(username: string, password: string): void {
  const candidate = { username, password };
  if (credentials.Check(candidate)) return;
  const first = credentials.Errors(candidate).First();
  const field = first?.path.slice(1) ?? 'username';
  refuse(field === 'password' ? 'password must be at least 8 characters' : 'username must be 3-64 letters, digits, _ . @ -');
}

export function checkDeviceName(name: string): void {
  if (!deviceName.Check(name)) refuse('devicename must be 1-64 characters, no control characters');
}
