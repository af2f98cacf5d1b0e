import { useEffect, useState } from 'preact/hooks';
import { api } from './api';
import { AuthScreen } from './auth';
import { ResetPasswordScreen, VerifyEmailScreen } from './email_links';
import { AdminDialog, BrowseRoomsDialog, CreateRoomDialog, SettingsDialog, UserDialog } from './dialogs';
import { roomFromPath, roomPath, useStore } from './hooks';
import { PresenceDot, RoomView } from './room';
import { store } from './store';
import type { Room } from './types';

type DialogName = 'create' | 'browse' | 'dm' | 'invite' | 'settings' | 'admin' | null;

export function App() {
  // Pages opened from email links work signed in or not.
  if (location.pathname === '/verify-email') return <VerifyEmailScreen />;
  if (location.pathname === '/reset-password') return <ResetPasswordScreen />;
  return <ChatApp />;
}

function ChatApp() {
  const s = useStore();
  useEffect(() => {
    void s.init();
  }, []);
  if (!s.authChecked) return <p class="loading">Loading…</p>;
  if (!s.me) return <AuthScreen />;
  return <Shell />;
}

function Shell() {
  const s = useStore();
  const [dialog, setDialog] = useState<DialogName>(null);
  const [navOpen, setNavOpen] = useState(false);
  const [error, setError] = useState('');

  const open = (id: number | null, push = true) => {
    if (push && location.pathname !== roomPath(id)) history.pushState(null, '', roomPath(id));
    s.setActive(id);
    setNavOpen(false);
  };
  useEffect(() => {
    const fromUrl = roomFromPath(location.pathname);
    const first = [...s.rooms.values()][0]?.id ?? null;
    open(fromUrl !== null && s.rooms.has(fromUrl) ? fromUrl : first, false);
    const onPop = () => open(roomFromPath(location.pathname), false);
    const onVis = () => {
      s.setPresence(document.visibilityState === 'visible' ? 'online' : 'away');
      if (document.visibilityState === 'visible' && s.active !== null) s.markRead(s.active);
    };
    window.addEventListener('popstate', onPop);
    document.addEventListener('visibilitychange', onVis);
    const typingTick = setInterval(() => s.emit(), 2000);
    return () => {
      window.removeEventListener('popstate', onPop);
      document.removeEventListener('visibilitychange', onVis);
      clearInterval(typingTick);
    };
  }, []);

  const room = s.active !== null ? s.rooms.get(s.active) : undefined;
  const rooms = [...s.rooms.values()].filter((r) => r.kind !== 'direct').sort((a, b) => a.name.localeCompare(b.name));
  const dms = [...s.rooms.values()].filter((r) => r.kind === 'direct');
  const totalUnread = [...s.rooms.values()].reduce((n, r) => n + (r.unread ?? 0), 0);
  useEffect(() => {
    document.title = totalUnread > 0 ? `(${totalUnread}) Redoubt` : 'Redoubt';
  }, [totalUnread]);

  const leave = async (r: Room) => {
    setError('');
    try {
      await api.leave(r.id);
      s.dropRoom(r.id);
      open([...s.rooms.values()][0]?.id ?? null);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <div class={'shell' + (navOpen ? ' nav-open' : '')}>
      {s.conn !== 'online' && (
        <div class="conn-banner" role="status" data-state={s.conn}>
          {s.conn === 'reconnecting' ? 'Reconnecting…' : 'Connecting…'}
        </div>
      )}
      <nav class="sidebar" aria-label="Rooms and direct messages">
        {s.me!.email_verified === false && (
          <p class="verify-banner" role="status">
            Please confirm your email address: we sent a link to {s.me!.email}.
          </p>
        )}
        <div class="me">
          <PresenceDot user={s.me!.id} />
          <strong>{s.me!.username}</strong>
          <button class="link" onClick={() => setDialog('settings')} aria-label="Settings">
            Settings
          </button>
          {s.me!.is_admin && (
            <button class="link" onClick={() => setDialog('admin')}>
              Admin
            </button>
          )}
        </div>
        <RoomGroup title="Rooms" rooms={rooms} active={s.active} onOpen={open} />
        <div class="sidebar-actions">
          <button onClick={() => setDialog('create')}>+ Create room</button>
          <button onClick={() => setDialog('browse')}>Browse rooms</button>
        </div>
        <RoomGroup title="Direct messages" rooms={dms} active={s.active} onOpen={open} />
        <div class="sidebar-actions">
          <button onClick={() => setDialog('dm')}>+ New message</button>
        </div>
      </nav>
      <main class="main">
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {room ? (
          <RoomView
            key={room.id}
            room={room}
            onInvite={() => setDialog('invite')}
            onLeave={() => void leave(room)}
            onMenu={() => setNavOpen(true)}
          />
        ) : (
          <section class="empty">
            <button class="menu-button" aria-label="Show rooms" onClick={() => setNavOpen(true)}>
              ☰
            </button>
            <h2>Welcome, {s.me!.username}</h2>
            <p>Create a room, browse public rooms, or start a direct message.</p>
          </section>
        )}
      </main>
      {dialog === 'create' && <CreateRoomDialog onClose={() => setDialog(null)} onOpen={(id) => open(id)} />}
      {dialog === 'browse' && <BrowseRoomsDialog onClose={() => setDialog(null)} onOpen={(id) => open(id)} />}
      {dialog === 'dm' && (
        <UserDialog
          title="New direct message"
          action="Open conversation"
          onClose={() => setDialog(null)}
          onSubmit={async (username) => {
            const { room: r } = await api.dm(username);
            s.addRoom(r);
            await s.loadMembers(r.id);
            open(r.id);
          }}
        />
      )}
      {dialog === 'invite' && room && (
        <UserDialog
          title={`Invite to ${room.name}`}
          action="Invite"
          onClose={() => setDialog(null)}
          onSubmit={async (username) => {
            await api.invite(room.id, username);
          }}
        />
      )}
      {dialog === 'settings' && <SettingsDialog onClose={() => setDialog(null)} />}
      {dialog === 'admin' && <AdminDialog onClose={() => setDialog(null)} />}
    </div>
  );
}

function RoomGroup(props: { title: string; rooms: Room[]; active: number | null; onOpen: (id: number) => void }) {
  const id = 'group-' + props.title.replace(/\W+/g, '-').toLowerCase();
  return (
    <section aria-labelledby={id}>
      <h2 id={id} class="group-title">
        {props.title}
      </h2>
      <ul class="room-list">
        {props.rooms.map((r) => {
          const unread = r.unread ?? 0;
          const mentions = r.mentions_unread ?? 0;
          const title = store.roomTitle(r);
          return (
            <li key={r.id}>
              <a
                href={`/rooms/${r.id}`}
                aria-current={r.id === props.active ? 'page' : undefined}
                class={(unread > 0 ? 'unread' : '') + (mentions > 0 ? ' has-mention' : '')}
                onClick={(e) => {
                  e.preventDefault();
                  props.onOpen(r.id);
                }}
              >
                {r.kind === 'direct' ? (
                  <PresenceDot user={store.dmPartner(r)} />
                ) : (
                  <span aria-hidden="true">{r.kind === 'private' ? '🔒' : '#'}</span>
                )}
                <span class="name">{title}</span>
                {mentions > 0 ? (
                  <span class="badge mention-badge" aria-label={`${mentions} mentions`}>
                    @{mentions}
                  </span>
                ) : unread > 0 ? (
                  <span class="badge" aria-label={`${unread} unread`}>
                    {unread}
                  </span>
                ) : null}
              </a>
            </li>
          );
        })}
        {props.rooms.length === 0 && <li class="muted none">None yet</li>}
      </ul>
    </section>
  );
}
