import { useState } from 'preact/hooks';
import { api, ApiFailure, type SessionInfo } from '../api.ts';

export function LoginPage(props: { onSignedIn: (session: SessionInfo, username: string) => void }) {
  const [mode, setMode] = useState<'login' | 'signup'>('login');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const credentials = { username: String(data.get('username') ?? ''), password: String(data.get('password') ?? '') };
    setBusy(true);
    setError('');
    try {
      if (mode === 'signup') await api('POST', '/api/v1/auth/signup', credentials);
      const session = await api<SessionInfo>('POST', '/api/v1/auth/session', credentials);
      props.onSignedIn(session, credentials.username);
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="page narrow" id="main">
      <h1>{mode === 'login' ? 'Log in to iotcloud' : 'Create an iotcloud account'}</h1>
      <form onSubmit={submit} class="stack">
        <label>
          Username
          <input name="username" autocomplete="username" required minLength={3} maxLength={64} pattern="[A-Za-z0-9_.@\-]{3,64}" />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete={mode === 'login' ? 'current-password' : 'new-password'} required minLength={8} maxLength={1024} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {mode === 'login' ? 'Log in' : 'Sign up'}
        </button>
      </form>
      <p>
        {mode === 'login' ? 'No account yet? ' : 'Have an account? '}
        <button type="button" class="link" onClick={() => setMode(mode === 'login' ? 'signup' : 'login')}>
          {mode === 'login' ? 'Create one' : 'Log in'}
        </button>
      </p>
    </main>
  );
}
