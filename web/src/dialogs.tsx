// Modal dialogs: create room, browse public rooms, new direct message, invite, settings.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';
import { formatTime } from './hooks';
import { store } from './store';
import type { Room, Session } from './types';

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
