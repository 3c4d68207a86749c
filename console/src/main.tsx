/** The iotcloud web console: sign in, devices (live), register, device commands, live metrics. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setSession, whenLoggedOut, type SessionInfo } from './api.ts';
import { live } from './live.ts';
import { go, useLive, useRoute } from './hooks.ts';
import { LoginPage } from './pages/login.tsx';
import { DevicesPage } from './pages/devices.tsx';
import { RegisterPage } from './pages/register.tsx';
import { DevicePage } from './pages/device.tsx';
import { MetricsPage } from './pages/metrics.tsx';
import './style.css';

type Auth = { state: 'checking' } | { state: 'out' } | { state: 'in'; username: string };

function App() {
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const route = useRoute();

  const signedOut = () => {
    setSession(undefined);
    live.clear();
    sessionStorage.removeItem('iotcloud.username');
    setAuth({ state: 'out' });
  };
  const signedIn = (session: SessionInfo, username: string) => {
    setSession(session.csrfToken);
    sessionStorage.setItem('iotcloud.username', username); // a display name only: the session is in an HttpOnly cookie
    live.start();
    setAuth({ state: 'in', username });
  };

  useEffect(() => {
    whenLoggedOut(signedOut);
    api<SessionInfo>('GET', '/api/v1/auth/session').then(
      (session) => signedIn(session, sessionStorage.getItem('iotcloud.username') ?? ''),
      () => setAuth({ state: 'out' }),
    );
  }, []);

  useEffect(() => {
    document.title = `${titleOf(route, auth.state)} · iotcloud console`;
  }, [route, auth.state]);

  if (auth.state === 'checking') return <main class="page"><p>Loading…</p></main>;
  if (auth.state === 'out') return <LoginPage onSignedIn={signedIn} />;

  const logout = async () => {
    await api('DELETE', '/api/v1/auth/session').catch(() => undefined);
    signedOut();
    go('/devices');
  };
  const deviceMatch = /^\/devices\/([^/]+)$/.exec(route);
  return (
    <>
      <Header username={auth.username} route={route} onLogout={logout} />
      <main class="page" id="main">
        {deviceMatch ? <DevicePage deviceId={deviceMatch[1]!} /> : route === '/register' ? <RegisterPage /> : route === '/metrics' ? <MetricsPage /> : <DevicesPage />}
      </main>
    </>
  );
}

function titleOf(route: string, state: Auth['state']): string {
  if (state !== 'in') return 'Sign in';
  if (route.startsWith('/devices/')) return 'Device';
  if (route === '/register') return 'Register a device';
  if (route === '/metrics') return 'Live metrics';
  return 'Devices';
}

function Header(props: { username: string; route: string; onLogout: () => void }) {
  const state = useLive();
  const link = (href: string, label: string, active: boolean) => (
    <a href={`#${href}`} aria-current={active ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <header class="top">
      <span class="brand">iotcloud</span>
      <nav aria-label="Console">
        {link('/devices', 'Devices', props.route === '/devices' || props.route.startsWith('/devices/'))}
        {link('/register', 'Register a device', props.route === '/register')}
        {link('/metrics', 'Live metrics', props.route === '/metrics')}
      </nav>
      <span class={`live-status ${state.status}`} role="status">
        {state.status === 'live' ? 'live' : state.status === 'refused' ? `live channel refused: ${state.message}` : state.status}
      </span>
      <span class="user">{props.username}</span>
      <button type="button" onClick={props.onLogout}>
        Log out
      </button>
    </header>
  );
}

render(<App />, document.getElementById('app')!);
