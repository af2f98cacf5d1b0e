import { useState } from 'preact/hooks';
import { api } from './api';
import { ForgotPasswordForm } from './email_links';
import { store } from './store';

export function AuthScreen() {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [forgot, setForgot] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const { user } =
        mode === 'login' ? await api.login(username, password) : await api.register(username, email, password);
      await store.start(user);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (forgot)
    return (
      <main class="auth">
        <h1>Redoubt</h1>
        <h2>Forgot your password?</h2>
        <ForgotPasswordForm onBack={() => setForgot(false)} />
      </main>
    );

  return (
    <main class="auth">
      <h1>Redoubt</h1>
      <div class="tabs" role="tablist" aria-label="Account">
        <button role="tab" id="tab-login" aria-selected={mode === 'login'} onClick={() => setMode('login')}>
          Sign in
        </button>
        <button role="tab" id="tab-register" aria-selected={mode === 'register'} onClick={() => setMode('register')}>
          Create account
        </button>
      </div>
      <form onSubmit={submit} aria-labelledby={mode === 'login' ? 'tab-login' : 'tab-register'}>
        <label>
          Username
          <input
            name="username"
            autocomplete="username"
            required
            minLength={2}
            maxLength={32}
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        {mode === 'register' && (
          <label>
            Email
            <input
              name="email"
              type="email"
              autocomplete="email"
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          </label>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={mode === 'register' ? 12 : 1}
            maxLength={256}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {mode === 'register' && <p class="hint">At least 12 characters; a few random words work well.</p>}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {mode === 'login' ? 'Sign in' : 'Create account'}
        </button>
        {mode === 'login' && (
          <button type="button" class="link" onClick={() => setForgot(true)}>
            Forgot password?
          </button>
        )}
      </form>
    </main>
  );
}
