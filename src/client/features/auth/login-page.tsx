import { matchQuery, useQueryClient } from '@tanstack/react-query';
import { getQueryKey } from '@trpc/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { PASSWORD_MAX, USERNAME_MAX } from '../../../shared/limits.ts';
import { TextField } from '../../components/form-fields.tsx';
import { trpc } from '../../trpc.ts';
import './auth.css';

export function LoginPage() {
  const utils = trpc.useUtils();
  const queryClient = useQueryClient();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const login = trpc.auth.login.useMutation({
    onSuccess: ({ user }) => utils.auth.me.setData(undefined, user),
  });

  // Whoever signs in next must not see the last user's cached data, nor what they were doing
  // (incident actions are drawn from the mutation cache). Done here because the app shell (and
  // every query it watched) is unmounted by now, however the session ended.
  useEffect(() => {
    const me = getQueryKey(trpc.auth.me);
    queryClient.removeQueries({ predicate: (query) => !matchQuery({ queryKey: me }, query) });
    queryClient.getMutationCache().clear();
  }, [queryClient]);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    login.mutate({ username: username.trim(), password });
  };

  return (
    <main className="login">
      <form className="login__card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand brand--large">
          <span className="brand__mark" aria-hidden="true" />
          Pulse
        </div>
        <h1 id="login-title">Sign in</h1>
        <TextField
          label="Username"
          name="username"
          autoComplete="username"
          required
          maxLength={USERNAME_MAX}
          value={username}
          onChange={setUsername}
          autoFocus
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          maxLength={PASSWORD_MAX}
          value={password}
          onChange={setPassword}
        />
        {login.error && (
          <p className="error-text" role="alert" data-testid="login-error">
            {login.error.message}
          </p>
        )}
        <button type="submit" className="primary" disabled={login.isPending}>
          {login.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
