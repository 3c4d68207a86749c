/** Register a device: downloads its credentials and shows the exact commands to run it. */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiFailure, type Registration } from '../api.ts';

export function RegisterPage() {
  const [registration, setRegistration] = useState<Registration>();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const deviceId = String(data.get('deviceId') ?? '').trim();
    const body = { name: String(data.get('name') ?? '').trim(), keyAlgorithm: String(data.get('keyAlgorithm')), ...(deviceId ? { deviceId } : {}) };
    setBusy(true);
    setError('');
    try {
      setRegistration(await api<Registration>('POST', '/api/v1/devices', body));
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  if (registration) return <Registered registration={registration} onAnother={() => setRegistration(undefined)} />;
  return (
    <>
      <h1>Register a device</h1>
      <form onSubmit={submit} class="stack narrow">
        <label>
          Name (yours to choose, unique among your devices)
          <input name="name" required maxLength={64} placeholder="lab board" />
        </label>
        <label>
          Device id (optional: the one compiled into your firmware; generated when empty)
          <input name="deviceId" maxLength={64} pattern="[A-Za-z0-9_\-]{1,64}" />
        </label>
        <label>
          Key type
          <select name="keyAlgorithm">
            <option value="ecdsa-p256">ECDSA P-256 (recommended)</option>
            <option value="rsa-2048">RSA 2048 (legacy firmware)</option>
          </select>
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Registering…' : 'Register'}
        </button>
      </form>
    </>
  );
}

function Registered({ registration, onAnother }: { registration: Registration; onAnother: () => void }) {
  const id = registration.deviceId;
  const files: [string, string][] = [
    ['rootca.pem', registration.rootCa],
    [`${id}_cert.pem`, registration.certificate],
    [`${id}_pkey.pem`, registration.privateKey],
  ];
  const [urls, setUrls] = useState<string[]>([]);
  useEffect(() => {
    const made = files.map(([, pem]) => URL.createObjectURL(new Blob([pem], { type: 'application/x-pem-file' })));
    setUrls(made);
    return () => made.forEach((url) => URL.revokeObjectURL(url));
  }, [registration]);
  const mqtt = registration.mqttUrl;
  const broker = new URL(mqtt.replace(/^mqtts?:/, 'https:'));
  const commands = [
    ['Simulated device', `iotcloud sim --device ${id} --url ${mqtt} --dir .`],
    ['FT900 host build', `ft900/firmware/build/ft900-host --mqtt ${mqtt} --device ${id} --ca rootca.pem --cert ${id}_cert.pem --key ${id}_pkey.pem`],
    ['Python example', `python3 examples/python/mqtt_device.py --device ${id} --dir . --host ${broker.hostname} --port ${broker.port || '8883'}`],
  ];
  return (
    <>
      <h1>Registered {registration.name}</h1>
      <p>
        Device id <code data-testid="registered-id">{id}</code>. Its private key is shown once and not kept by the server: download the three files now and keep the key
        secret.
      </p>
      <ul class="downloads">
        {files.map(([name], index) => (
          <li key={name}>
            <a href={urls[index]} download={name}>
              Download {name}
            </a>
          </li>
        ))}
      </ul>
      <h2>Run it</h2>
      <p>In the folder you downloaded the files to:</p>
      <dl class="commands">
        {commands.map(([label, command]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>
              <code>{command}</code>
            </dd>
          </div>
        ))}
      </dl>
      <p>
        <a class="button" href={`#/devices/${encodeURIComponent(id)}`}>
          Open the device page
        </a>{' '}
        <button type="button" onClick={onAnother}>
          Register another
        </button>
      </p>
    </>
  );
}
