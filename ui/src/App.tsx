// The application shell: the session (GET /api/v1/me; the login page when there is none), the navigation,
// the theme switch, and the page for the current path.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, type ReactNode } from 'react';
import { api, ApiError, logout, setCsrfToken, setUnauthorizedHandler, type Me } from './api.js';
import { Loading, ErrorBox } from './components/ErrorBox.js';
import { AlertsPage } from './pages/Alerts.js';
import { Dashboard } from './pages/Dashboard.js';
import { EventPage } from './pages/EventDetail.js';
import { Explorer } from './pages/Explorer.js';
import { IdentityPage } from './pages/Identity.js';
import { LivePage } from './pages/Live.js';
import { LoginPage } from './pages/Login.js';
import { ObjectPage } from './pages/ObjectTimeline.js';
import { PolicyPage } from './pages/Policy.js';
import { Link, navigate, useLocation } from './router.js';
import { setTheme, useTheme } from './theme.js';

const NAV: { path: string; label: string }[] = [
  { path: '/', label: 'Dashboard' },
  { path: '/explore', label: 'Explorer' },
  { path: '/alerts', label: 'Alerts' },
  { path: '/live', label: 'Live' },
  { path: '/identity', label: 'Identities' },
  { path: '/objects', label: 'Objects' },
  { path: '/policy', label: 'Policy' },
];

function Page(props: { path: string; me: Me }): ReactNode {
  const { path } = props;
  if (path === '/' || path === '/dashboard') return <Dashboard me={props.me} />;
  if (path === '/explore') return <Explorer />;
  if (path.startsWith('/events/')) return <EventPage auditID={decodeURIComponent(path.slice(8))} />;
  if (path === '/objects') return <ObjectPage />;
  if (path === '/identity') return <IdentityPage />;
  if (path === '/alerts') return <AlertsPage me={props.me} />;
  if (path === '/live') return <LivePage />;
  if (path === '/policy') return <PolicyPage />;
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/">Go to the dashboard</Link>.
      </p>
    </div>
  );
}

export function App(): ReactNode {
  const client = useQueryClient();
  const { path } = useLocation();
  const theme = useTheme();
  const me = useQuery({
    queryKey: ['me'],
    queryFn: () => api.get<Me>('/me'),
    retry: false,
    staleTime: Infinity,
  });
  useEffect(() => {
    setUnauthorizedHandler(() => {
      client.setQueryData(['me'], null);
      void client.invalidateQueries({ queryKey: ['me'] });
    });
  }, [client]);
  useEffect(() => {
    if (me.data) setCsrfToken(me.data.csrfToken);
  }, [me.data]);
  useEffect(() => {
    if (me.data && path === '/login') navigate('/', { replace: true });
  }, [me.data, path]);
  const signOut = useMutation({
    mutationFn: logout,
    onSettled: () => {
      setCsrfToken('');
      client.clear();
      navigate('/login');
    },
  });

  if (me.isPending) return <Loading label="Loading kubetrail…" />;
  const unauthenticated = (me.error instanceof ApiError && me.error.status === 401) || me.data === null;
  if (unauthenticated || !me.data) {
    if (!unauthenticated && me.error) {
      return (
        <div className="page">
          <ErrorBox error={me.error} />
        </div>
      );
    }
    return <LoginPage />;
  }
  const user = me.data;
  return (
    <div className="app">
      <header className="topbar">
        <Link to="/" className="brand">
          kubetrail
        </Link>
        <nav>
          {NAV.map((n) => (
            <Link
              key={n.path}
              to={n.path}
              className={
                (n.path === '/' ? path === '/' : path.startsWith(n.path)) ||
                (n.path === '/explore' && path.startsWith('/events/'))
                  ? 'active'
                  : ''
              }
            >
              {n.label}
            </Link>
          ))}
        </nav>
        <div className="whoami">
          <span className="user" data-testid="whoami">
            {user.name}
          </span>
          <span className={`role role-${user.role}`}>{user.role}</span>
          {user.scope && (
            <span className="scope" title="Your token's scope: you see only events matching it">
              scope: <code>{user.scope}</code>
            </span>
          )}
          <button
            type="button"
            className="theme-toggle"
            aria-label="Switch theme"
            onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
          >
            {theme === 'dark' ? '☀ Light' : '☾ Dark'}
          </button>
          <button type="button" onClick={() => signOut.mutate()}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        <Page path={path === '/login' ? '/' : path} me={user} />
      </main>
    </div>
  );
}
