// The pages behind the links in Redoubt's emails: /verify-email#token=... and
// /reset-password#token=... The token comes in the URL fragment (never sent to a server, never
// in a Referer); it is taken out of the address bar and history at once, then posted.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api';

export function takeTokenFromFragment(hash: string): string {
  const m = /^#token=([A-Za-z0-9_-]{43})$/.exec(hash);
  return m ? m[1] : '';
}

function useFragmentToken(): string {
  const [token] = useState(() => takeTokenFromFragment(location.hash));
  useEffect(() => {
    history.replaceState(null, '', location.pathname);
  }, []);
  return token;
}

function Continue() {
  return (
    <p>
      <a href="/">Continue to Redoubt</a>
    </p>
  );
}

export function VerifyEmailScreen() {
  const token = useFragmentToken();
  const [state, setState] = useState<'working' | 'done' | 'failed'>(token ? 'working' : 'failed');
  const [error, setError] = useState(token ? '' : 'This link is incomplete.');
  useEffect(() => {
    if (!token) return;
    api.verifyEmail(token).then(
      () => setState('done'),
      (e) => {
        setError((e as Error).message);
        setState('failed');
      },
    );
  }, [token]);
  return (
    <main class="auth">
      <h1>Redoubt</h1>
      <h2>Email address</h2>
      {state === 'working' && <p role="status">Confirming…</p>}
      {state === 'done' && <p role="status">Your email address is confirmed.</p>}
      {state === 'failed' && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <Continue />
    </main>
  );
}

export function ResetPasswordScreen() {
  const token = useFragmentToken();
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const [error, setError] = useState(token ? '' : 'This link is incomplete.');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await api.confirmPasswordReset(token, password);
      setDone(true);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="auth">
      <h1>Redoubt</h1>
      <h2>Choose a new password</h2>
      {done ? (
        <p role="status">Your password is changed, and every signed-in session has ended. Sign in again.</p>
      ) : (
        <form onSubmit={submit} aria-label="Reset password">
          <label>
            New password
            <input
              name="password"
              type="password"
              autocomplete="new-password"
              required
              minLength={12}
              maxLength={256}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </label>
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" class="primary" disabled={busy || !token}>
            Change password
          </button>
        </form>
      )}
      <Continue />
    </main>
  );
}

export function ForgotPasswordForm({ onBack }: { onBack: () => void }) {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const [error, setError] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    try {
      await api.requestPasswordReset(email);
      setSent(true);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return sent ? (
    <div>
      <p role="status">If an account uses this address, an email with a link is on its way. The link works once, for 30 minutes.</p>
      <button onClick={onBack}>Back to sign in</button>
    </div>
  ) : (
    <form onSubmit={submit} aria-label="Forgot password">
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
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="primary">
        Send reset link
      </button>
      <button type="button" onClick={onBack}>
        Back to sign in
      </button>
    </form>
  );
}
