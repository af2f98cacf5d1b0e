// Modal dialogs: create room, browse public rooms, new direct message, invite, settings.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';
import { formatTime } from './hooks';
import { store } from './store';
import type { AuditChain, AuditCheckpoint, AuditEntry, Room, Session, StorageUse, User } from './types';
import { formatBytes } from './uploads';

export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    ref.current?.querySelector<HTMLElement>('input, select, textarea, button:not(.close)')?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') props.onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      prev?.focus();
    };
  }, []);
  const id = 'dlg-' + props.title.replace(/\W+/g, '-').toLowerCase();
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby={id} ref={ref}>
        <header>
          <h2 id={id}>{props.title}</h2>
          <button class="close" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </header>
        {props.children}
      </div>
    </div>
  );
}

function useAction() {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const run = async (f: () => Promise<void>) => {
    setBusy(true);
    setError('');
    try {
      await f();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

function ErrorLine({ error }: { error: string }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function CreateRoomDialog({ onClose, onOpen }: { onClose: () => void; onOpen: (id: number) => void }) {
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [kind, setKind] = useState<'public' | 'private'>('public');
  const { error, busy, run } = useAction();
  return (
    <Dialog title="Create a room" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const { room } = await api.createRoom(name.trim(), kind, topic.trim());
            store.addRoom(room);
            onOpen(room.id);
            onClose();
          });
        }}
      >
        <label>
          Name
          <input required maxLength={80} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Topic (optional)
          <input maxLength={500} value={topic} onInput={(e) => setTopic(e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>Who can join</legend>
          <label class="inline">
            <input type="radio" name="kind" checked={kind === 'public'} onChange={() => setKind('public')} /> Public:
            anyone can find and join
          </label>
          <label class="inline">
            <input type="radio" name="kind" checked={kind === 'private'} onChange={() => setKind('private')} />{' '}
            Private: by invitation only
          </label>
        </fieldset>
        <ErrorLine error={error} />
        <button type="submit" class="primary" disabled={busy}>
          Create
        </button>
      </form>
    </Dialog>
  );
}

export function BrowseRoomsDialog({ onClose, onOpen }: { onClose: () => void; onOpen: (id: number) => void }) {
  const [rooms, setRooms] = useState<Room[] | null>(null);
  const [filter, setFilter] = useState('');
  const { error, run } = useAction();
  useEffect(() => {
    void run(async () => setRooms((await api.publicRooms()).rooms));
  }, []);
  const shown = (rooms ?? []).filter((r) => r.name.toLowerCase().includes(filter.toLowerCase()));
  return (
    <Dialog title="Browse public rooms" onClose={onClose}>
      <label>
        Filter
        <input type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
      </label>
      <ErrorLine error={error} />
      {rooms === null ? (
        <p>Loading…</p>
      ) : (
        <ul class="room-browser">
          {shown.map((r) => (
            <li key={r.id}>
              <div>
                <strong># {r.name}</strong> <span class="muted">{r.member_count} members</span>
                {r.topic && <div class="muted">{r.topic}</div>}
              </div>
              {r.my_role && r.my_role !== 'none' ? (
                <button
                  onClick={() => {
                    onOpen(r.id);
                    onClose();
                  }}
                >
                  Open
                </button>
              ) : (
                <button
                  class="primary"
                  onClick={() =>
                    run(async () => {
                      const { room } = await api.join(r.id);
                      store.addRoom(room);
                      onOpen(room.id);
                      onClose();
                    })
                  }
                >
                  Join
                </button>
              )}
            </li>
          ))}
          {shown.length === 0 && <li class="muted">No public rooms match.</li>}
        </ul>
      )}
    </Dialog>
  );
}

export function UserDialog(props: {
  title: string;
  action: string;
  onClose: () => void;
  onSubmit: (username: string) => Promise<void>;
}) {
  const [username, setUsername] = useState('');
  const { error, busy, run } = useAction();
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await props.onSubmit(username.trim().replace(/^@/, ''));
            props.onClose();
          });
        }}
      >
        <label>
          Username
          <input required maxLength={33} value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        <ErrorLine error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {props.action}
        </button>
      </form>
    </Dialog>
  );
}

// "Chrome 156 on Linux" from a User-Agent header (the full string stays in the tooltip).
export function describeAgent(ua: string): string {
  const browser =
    /(Firefox|Edg|OPR|HeadlessChrome|Chrome|Safari)\/(\d+)/.exec(ua) ?? /^(curl|[\w.-]+)\/([\d.]+)/.exec(ua);
  const os = /(Windows|Android|iPhone|iPad|Mac OS X|Linux|CrOS)/.exec(ua);
  if (!browser) return ua ? ua.slice(0, 60) : 'Unknown client';
  const name = browser[1] === 'Edg' ? 'Edge' : browser[1] === 'OPR' ? 'Opera' : browser[1];
  return `${name} ${browser[2]}` + (os ? ` on ${os[1] === 'Mac OS X' ? 'macOS' : os[1]}` : '');
}

export function SettingsDialog({ onClose }: { onClose: () => void }) {
  const me = store.me!;
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const { error, run } = useAction();
  const load = () => run(async () => setSessions((await api.sessions()).sessions));
  useEffect(() => {
    void load();
  }, []);
  return (
    <Dialog title="Settings" onClose={onClose}>
      <section aria-label="Account">
        <h3>Account</h3>
        <dl class="account">
          <dt>Username</dt>
          <dd>{me.username}</dd>
          <dt>Email</dt>
          <dd>{me.email}</dd>
          {me.is_admin && (
            <>
              <dt>Role</dt>
              <dd>Administrator</dd>
            </>
          )}
        </dl>
      </section>
      <DisplayNameForm />
      <PasswordForm onChanged={() => void load()} />
      <section aria-label="Sessions">
        <h3>Signed-in sessions</h3>
        <ErrorLine error={error} />
        <ul class="sessions">
          {(sessions ?? []).map((s) => (
            <li key={s.id}>
              <div>
                <strong title={s.user_agent}>{describeAgent(s.user_agent)}</strong>
                {s.current && <span class="badge-inline">this browser</span>}
                <div class="muted">
                  {s.ip} · last seen {new Date(s.last_seen_at).toLocaleDateString()} {formatTime(s.last_seen_at)}
                </div>
              </div>
              {s.current ? (
                <button onClick={() => void store.logout()}>Sign out</button>
              ) : (
                <button
                  onClick={() =>
                    run(async () => {
                      await api.revokeSession(s.id);
                      await load();
                    })
                  }
                >
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      </section>
    </Dialog>
  );
}

function DisplayNameForm() {
  const [name, setName] = useState(store.me?.display_name ?? '');
  const [saved, setSaved] = useState(false);
  const { error, busy, run } = useAction();
  return (
    <form
      class="settings-form"
      aria-label="Display name"
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        void run(async () => {
          const { user } = await api.setDisplayName(name);
          store.me = user;
          store.emit();
          setSaved(true);
        });
      }}
    >
      <label>
        Display name
        <input value={name} maxLength={64} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={busy}>
        Save name
      </button>
      {saved && <span role="status">Saved.</span>}
      <ErrorLine error={error} />
    </form>
  );
}

function PasswordForm({ onChanged }: { onChanged: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [endOthers, setEndOthers] = useState(true);
  const [done, setDone] = useState(false);
  const { error, busy, run } = useAction();
  return (
    <form
      class="settings-form"
      aria-label="Change password"
      onSubmit={(e) => {
        e.preventDefault();
        setDone(false);
        void run(async () => {
          await api.changePassword(current, next, endOthers);
          setCurrent('');
          setNext('');
          setDone(true);
          onChanged();
        });
      }}
    >
      <h3>Password</h3>
      <label>
        Current password
        <input type="password" autocomplete="current-password" value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
      </label>
      <label>
        New password
        <input type="password" autocomplete="new-password" minLength={12} value={next} onInput={(e) => setNext(e.currentTarget.value)} />
      </label>
      <label class="check">
        <input type="checkbox" checked={endOthers} onChange={(e) => setEndOthers(e.currentTarget.checked)} /> Sign out my other
        sessions
      </label>
      <button type="submit" disabled={busy || !current || !next}>
        Change password
      </button>
      {done && <span role="status">Password changed.</span>}
      <ErrorLine error={error} />
    </form>
  );
}

// Administration: users, storage and quotas, the audit log with the chain's status.
export function AdminDialog({ onClose }: { onClose: () => void }) {
  const [tab, setTab] = useState<'users' | 'storage' | 'audit'>('users');
  const tabs: [typeof tab, string][] = [
    ['users', 'Users'],
    ['storage', 'Storage'],
    ['audit', 'Audit log'],
  ];
  return (
    <Dialog title="Administration" onClose={onClose}>
      <div role="tablist" class="tabs" aria-label="Administration">
        {tabs.map(([key, label]) => (
          <button key={key} role="tab" aria-selected={tab === key} onClick={() => setTab(key)}>
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" class="admin-panel">
        {tab === 'users' && <AdminUsers />}
        {tab === 'storage' && <AdminStorage />}
        {tab === 'audit' && <AdminAudit />}
      </div>
    </Dialog>
  );
}

function AdminUsers() {
  const [users, setUsers] = useState<User[]>([]);
  const { error, run } = useAction();
  const load = () => run(async () => setUsers((await api.adminUsers()).users));
  useEffect(() => {
    void load();
  }, []);
  const change = (u: User, c: { disabled?: boolean; is_admin?: boolean }) =>
    run(async () => {
      const { user } = await api.adminUpdateUser(u.id, c);
      setUsers((list) => list.map((x) => (x.id === user.id ? user : x)));
    });
  return (
    <>
      <ErrorLine error={error} />
      <table class="admin-table">
        <thead>
          <tr>
            <th>User</th>
            <th>Email</th>
            <th>Status</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <td>{u.username}</td>
              <td>{u.email}</td>
              <td>{[u.is_admin ? 'admin' : '', u.disabled ? 'disabled' : 'active'].filter(Boolean).join(', ')}</td>
              <td>
                {u.id !== store.me?.id && (
                  <>
                    <button onClick={() => void change(u, { disabled: !u.disabled })}>
                      {u.disabled ? `Enable ${u.username}` : `Disable ${u.username}`}
                    </button>{' '}
                    <button onClick={() => void change(u, { is_admin: !u.is_admin })}>
                      {u.is_admin ? 'Remove admin' : 'Make admin'}
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function AdminStorage() {
  const [rows, setRows] = useState<StorageUse[]>([]);
  const [editing, setEditing] = useState<Record<number, string>>({});
  const { error, run } = useAction();
  const load = () => run(async () => setRows((await api.adminStorage()).users));
  useEffect(() => {
    void load();
  }, []);
  const save = (r: StorageUse, mib: string | null) =>
    run(async () => {
      const quota = mib === null ? null : Math.round(Number(mib) * 1024 * 1024);
      if (quota !== null && (!Number.isFinite(quota) || quota < 0)) throw new Error('Quota must be a number of MB.');
      await api.setQuota(r.user_id, quota);
      await load();
    });
  return (
    <>
      <ErrorLine error={error} />
      <table class="admin-table">
        <thead>
          <tr>
            <th>User</th>
            <th>Files</th>
            <th>Used</th>
            <th>Quota</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.user_id}>
              <td>{r.username}</td>
              <td>{r.files}</td>
              <td>{formatBytes(r.bytes)}</td>
              <td>
                <form
                  class="quota-form"
                  onSubmit={(e) => {
                    e.preventDefault();
                    void save(r, editing[r.user_id] ?? String(r.quota_bytes / (1024 * 1024)));
                  }}
                >
                  <input
                    aria-label={`Quota of ${r.username} in MB`}
                    inputMode="decimal"
                    value={editing[r.user_id] ?? String(Math.round((r.quota_bytes / (1024 * 1024)) * 10) / 10)}
                    onInput={(e) => setEditing({ ...editing, [r.user_id]: e.currentTarget.value })}
                  />{' '}
                  MB <button type="submit">Set</button>{' '}
                  <button type="button" onClick={() => void save(r, null)}>
                    Default
                  </button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function CheckpointLine({ checkpoint }: { checkpoint: AuditCheckpoint | null }) {
  if (!checkpoint) return <p role="status">No signed checkpoint yet.</p>;
  if (checkpoint.status === 'ok')
    return (
      <p role="status" class="chain-ok">
        Signed checkpoint verified: entries up to #{checkpoint.audit_id} match what the server signed at{' '}
        {new Date(checkpoint.signed_at).toLocaleString()}.
      </p>
    );
  if (checkpoint.status === 'unknown_key')
    return <p role="status">The newest checkpoint (#{checkpoint.audit_id}) was signed by another server key.</p>;
  return (
    <p role="status" class="chain-bad">
      Tampering detected: checkpoint of #{checkpoint.audit_id}: {checkpoint.message}.
    </p>
  );
}

function AdminAudit() {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [chain, setChain] = useState<AuditChain | null>(null);
  const [checkpoint, setCheckpoint] = useState<AuditCheckpoint | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const { error, busy, run } = useAction();
  const load = (before: number | null) =>
    run(async () => {
      const page = await api.adminAudit(before);
      setChain(page.chain);
      setCheckpoint(page.checkpoint);
      setNext(page.next_before);
      setEntries((list) => (before ? [...list, ...page.entries] : page.entries));
    });
  useEffect(() => {
    void load(null);
  }, []);
  return (
    <>
      <ErrorLine error={error} />
      {chain && (
        <p role="status" class={chain.ok ? 'chain-ok' : 'chain-bad'}>
          {chain.ok
            ? `Hash chain verified: all ${chain.checked} entries are intact.`
            : `Tampering detected: ${chain.bad} of ${chain.checked} entries do not verify (first: #${chain.first_bad_id}).`}
        </p>
      )}
      {chain && <CheckpointLine checkpoint={checkpoint} />}
      <table class="admin-table audit">
        <thead>
          <tr>
            <th>#</th>
            <th>Time</th>
            <th>Who</th>
            <th>Action</th>
            <th>Target</th>
            <th>Outcome</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id} class={chain?.first_bad_id === e.id ? 'bad' : ''}>
              <td>{e.id}</td>
              <td>
                <time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time>
              </td>
              <td>{e.actor || '—'}</td>
              <td>{e.action}</td>
              <td>{e.target}</td>
              <td>{e.outcome}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next !== null && (
        <button disabled={busy} onClick={() => void load(next)}>
          Older entries
        </button>
      )}
    </>
  );
}
