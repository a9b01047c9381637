// The login page: an API token is exchanged for a session cookie (HttpOnly) and a CSRF token.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { login, setCsrfToken } from '../api.js';
import { ErrorBox } from '../components/ErrorBox.js';

export function LoginPage(): ReactNode {
  const [token, setToken] = useState('');
  const client = useQueryClient();
  const m = useMutation({
    mutationFn: () => login(token.trim()),
    onSuccess: (r) => {
      setCsrfToken(r.csrfToken);
      client.setQueryData(['me'], { ...r.user, csrfToken: r.csrfToken });
    },
  });
  return (
    <div className="login">
      <form
        className="login-card"
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) m.mutate();
        }}
      >
        <h1>kubetrail</h1>
        <p className="muted" data-testid="login-help">
          Sign in with an API token (<code>kubetrail token create</code>).
        </p>
        <label>
          Token
          <input
            type="password"
            name="token"
            autoComplete="current-password"
            autoFocus
            value={token}
            onChange={(e) => setToken(e.target.value)}
          />
        </label>
        <button type="submit" disabled={m.isPending || !token.trim()}>
          {m.isPending ? 'Signing in…' : 'Sign in'}
        </button>
        {m.error && <ErrorBox error={m.error} />}
      </form>
    </div>
  );
}
