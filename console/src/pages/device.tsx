/**
 * One device: its state (live), a form per protocol command (generated from the spec, checked
 * before sending), each answer with its round trip, a log of requests and answers, a conformance
 * run with its report, and unregistering.
 */
import { useState } from 'preact/hooks';
import { api, ApiFailure } from '../api.ts';
import { commandForms, problemWith, requestFrom, type CommandForm } from '../protocol.ts';
import { go, timeAgo, useLive } from '../hooks.ts';

type Kind = 'ok' | 'device-error' | 'timeout' | 'offline' | 'rejected' | 'invalid-answer' | 'unavailable';

interface LogEntry {
  seq: number;
  at: string;
  command: string;
  request: string;
  kind: Kind;
  answer: string;
  /** server -> device -> server, as the server measured it */
  rttMs?: number;
  /** browser -> server -> device -> server -> browser */
  totalMs: number;
}

const MAX_LOG = 200;
let sequence = 0;

interface CommandAnswer {
  result: Record<string, unknown>;
  elapsedMs: number;
}

export function DevicePage({ deviceId }: { deviceId: string }) {
  const state = useLive();
  const device = state.devices.get(deviceId);
  const [log, setLog] = useState<LogEntry[]>([]);
  const [timeoutMs, setTimeoutMs] = useState('2000');
  const [sendOffline, setSendOffline] = useState(false);

  if (!device) {
    return state.status === 'live' ? (
      <>
        <h1>No such device</h1>
        <p>
          You have no device <code>{deviceId}</code> (unregistered, or another user's). <a href="#/devices">Back to your devices</a>.
        </p>
      </>
    ) : (
      <p>Loading…</p>
    );
  }

  const send = async (form: CommandForm, body: Record<string, unknown>): Promise<LogEntry> => {
    const started = performance.now();
    const entry = (kind: Kind, answer: string, rttMs?: number): LogEntry => ({
      seq: ++sequence,
      at: new Date().toLocaleTimeString(),
      command: form.name,
      request: JSON.stringify(body),
      kind,
      answer,
      ...(rttMs === undefined ? {} : { rttMs }),
      totalMs: Math.round(performance.now() - started),
    });
    let result: LogEntry;
    try {
      const query = new URLSearchParams();
      if (/^\d{1,5}$/.test(timeoutMs)) query.set('timeoutMs', timeoutMs);
      if (sendOffline) query.set('wait', 'true');
      const answer = await api<CommandAnswer>('POST', `/api/v1/devices/${encodeURIComponent(deviceId)}/commands/${form.name}?${query}`, body);
      const invalid = form.response ? problemWith(form.response, answer.result) : undefined;
      result = invalid ? entry('invalid-answer', `${JSON.stringify(answer.result)}: ${invalid}`, answer.elapsedMs) : entry('ok', JSON.stringify(answer.result), answer.elapsedMs);
    } catch (failure) {
      if (!(failure instanceof ApiFailure)) throw failure;
      const kind: Kind = failure.status === 504 ? 'timeout' : failure.errorName === 'DEVICE_OFFLINE' ? 'offline' : failure.source === 'device' ? 'device-error' : failure.status === 503 || failure.status === 0 ? 'unavailable' : 'rejected';
      result = entry(kind, `${failure.errorName}: ${failure.message}`);
    }
    setLog((entries) => [result, ...entries].slice(0, MAX_LOG));
    return result;
  };

  return (
    <>
      <h1>{device.name}</h1>
      <dl class="facts">
        <div>
          <dt>Device id</dt>
          <dd>
            <code>{device.deviceId}</code>
          </dd>
        </div>
        <div>
          <dt>State</dt>
          <dd>
            <span class={device.online ? 'state online' : 'state offline'} data-testid="device-state">
              {device.online ? 'online' : 'offline'}
            </span>
          </dd>
        </div>
        <div>
          <dt>Last seen</dt>
          <dd>{device.online ? 'now' : timeAgo(device.lastSeenAt)}</dd>
        </div>
        <div>
          <dt>Certificate fingerprint (SHA-256)</dt>
          <dd>
            <code class="wrap">{device.fingerprint}</code>
          </dd>
        </div>
      </dl>

      <h2>Commands</h2>
      <label class="inline">
        Answer timeout (ms)
        <input class="short" inputMode="numeric" value={timeoutMs} onInput={(event) => setTimeoutMs((event.target as HTMLInputElement).value)} pattern="\d{1,5}" />
      </label>
      <label class="inline">
        <input type="checkbox" checked={sendOffline} onChange={(event) => setSendOffline((event.target as HTMLInputElement).checked)} /> Send even when the device is offline, and wait for
        the answer
      </label>
      <div class="commands-grid">
        {commandForms.map((form) => (
          <CommandBox key={form.name} form={form} send={send} />
        ))}
      </div>

      <h2>Log</h2>
      <div class="log" role="log" aria-label="Requests and answers">
      <ol data-testid="command-log">
        {log.map((entry) => (
          <li key={entry.seq} class={`log-${entry.kind}`}>
            <span class="log-time">{entry.at}</span> <strong>{entry.command}</strong> <code>{entry.request}</code> → <span class="log-kind">{label(entry.kind)}</span> <code>{entry.answer}</code>{' '}
            <span class="log-time">{entry.rttMs === undefined ? `${entry.totalMs} ms` : `${entry.rttMs} ms device round trip, ${entry.totalMs} ms in all`}</span>
          </li>
        ))}
      </ol>
      </div>

      <Conformance deviceId={deviceId} />
      <Unregister deviceId={deviceId} name={device.name} />
    </>
  );
}

const label = (kind: Kind) => ({ ok: 'answer', 'device-error': 'device error', timeout: 'timeout', offline: 'offline, not sent', rejected: 'rejected by the server', 'invalid-answer': 'invalid answer', unavailable: 'unavailable' })[kind];

function CommandBox({ form, send }: { form: CommandForm; send: (form: CommandForm, body: Record<string, unknown>) => Promise<LogEntry> }) {
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState('');
  const [last, setLast] = useState<LogEntry>();
  const [busy, setBusy] = useState(false);
  const id = (field: string) => `${form.name}-${field}`;

  const submit = async (event: Event) => {
    event.preventDefault();
    const request = requestFrom(form, inputs);
    if ('problem' in request) {
      setProblem(request.problem);
      return;
    }
    setProblem('');
    setBusy(true);
    try {
      setLast(await send(form, request.body));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="command" onSubmit={submit} data-command={form.name} noValidate>
      <h3>{form.name}</h3>
      <p class="hint">{form.summary}</p>
      {form.fields.map((field) => (
        <div key={field.name} class="field">
          <label for={id(field.name)}>
            {field.name}
            {field.required ? '' : ' (optional)'}
          </label>
          {field.choices ? (
            <select id={id(field.name)} name={field.name} value={inputs[field.name] ?? ''} onChange={(event) => setInputs({ ...inputs, [field.name]: (event.target as HTMLSelectElement).value })}>
              <option value="">choose</option>
              {field.choices.map((choice) => (
                <option key={String(choice)} value={String(choice)}>
                  {String(choice)}
                </option>
              ))}
            </select>
          ) : (
            <input
              id={id(field.name)}
              name={field.name}
              value={inputs[field.name] ?? ''}
              inputMode={field.schema.type === 'integer' ? 'numeric' : 'text'}
              aria-describedby={`${id(field.name)}-hint`}
              aria-invalid={problem !== '' && problem.includes(field.name) ? 'true' : undefined}
              onInput={(event) => setInputs({ ...inputs, [field.name]: (event.target as HTMLInputElement).value })}
            />
          )}
          <span class="hint" id={`${id(field.name)}-hint`}>
            {field.schema.description}
          </span>
        </div>
      ))}
      {problem && (
        <p class="error" role="alert">
          Not sent: {problem}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Waiting…' : `Send ${form.name}`}
      </button>
      {last && (
        <p class={`answer log-${last.kind}`} data-testid="answer" aria-live="polite">
          <span class="log-kind">{label(last.kind)}</span> <code>{last.answer}</code> {last.rttMs === undefined ? '' : `(${last.rttMs} ms)`}
        </p>
      )}
    </form>
  );
}

function Conformance({ deviceId }: { deviceId: string }) {
  const [state, setState] = useState<{ running: boolean; error?: string; result?: { reportId: string; passed: number; failed: number; notApplicable: number; verdict: string } }>({ running: false });
  const run = async () => {
    setState({ running: true });
    try {
      const result = await api<{ reportId: string; passed: number; failed: number; notApplicable: number; verdict: string }>('POST', `/api/v1/devices/${encodeURIComponent(deviceId)}/conformance`);
      setState({ running: false, result });
    } catch (failure) {
      setState({ running: false, error: failure instanceof ApiFailure ? failure.message : String(failure) });
    }
  };
  return (
    <section aria-labelledby="conformance-heading">
      <h2 id="conformance-heading">Conformance</h2>
      <p>Runs the protocol conformance suite against this device through the server (cases that need raw broker access are reported as not applicable). It takes up to a minute.</p>
      <button type="button" onClick={run} disabled={state.running}>
        {state.running ? 'Running the suite…' : 'Run conformance'}
      </button>
      {state.error && (
        <p class="error" role="alert">
          {state.error}
        </p>
      )}
      {state.result && (
        <p data-testid="conformance-result" aria-live="polite">
          {state.result.passed} passed, {state.result.failed} failed, {state.result.notApplicable} not applicable: {state.result.verdict}.{' '}
          <a href={`/api/v1/reports/${state.result.reportId}`} target="_blank" rel="noopener">
            Open the report
          </a>
        </p>
      )}
    </section>
  );
}

function Unregister({ deviceId, name }: { deviceId: string; name: string }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState('');
  const unregister = async () => {
    try {
      await api('DELETE', `/api/v1/devices/${encodeURIComponent(deviceId)}`);
      go('/devices');
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.message : String(failure));
    }
  };
  return (
    <section aria-labelledby="unregister-heading">
      <h2 id="unregister-heading">Unregister</h2>
      <p>The device is disconnected at once and its certificate refused from then on.</p>
      {confirming ? (
        <p>
          <button type="button" class="danger" onClick={unregister}>
            Yes, unregister {name}
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Keep it
          </button>
        </p>
      ) : (
        <button type="button" onClick={() => setConfirming(true)}>
          Unregister…
        </button>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
