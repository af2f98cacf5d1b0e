// The message view of one room: header, history with infinite scroll back, composer.
import type { JSX } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, type ApiError } from './api';
import { AttachmentList, UploadList } from './attachments';
import { formatDay, formatTime } from './hooks';
import { plainText } from './markdown';
import { Markdown } from './render';
import { store } from './store';
import { dayKey, type Pending } from './timeline';
import type { Member, Message, Role, Room } from './types';
import {
  attachmentSummary,
  blockerHint,
  finishedAttachments,
  sendBlocker,
  type Upload,
  type UploadHandle,
  sizeProblem,
  uploadFile,
} from './uploads';

const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');

const reactionChoices = ['👍', '❤️', '😄', '🎉', '👀', '✅'];

export function RoomView(props: { room: Room; onInvite: () => void; onLeave: () => void; onMenu: () => void }) {
  const { room } = props;
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [showMembers, setShowMembers] = useState(false);
  const [editingTopic, setEditingTopic] = useState(false);
  const [dragging, setDragging] = useState(false);
  const attachFiles = useRef<((files: File[]) => void) | null>(null);
  const canTopic = room.kind === 'direct' || room.my_role === 'owner' || room.my_role === 'moderator';
  useEffect(() => setReplyTo(null), [room.id]);
  useEffect(() => {
    // A file dropped next to the room (sidebar, header) must not make the browser open it and
    // leave the chat.
    const ignore = (e: DragEvent) => {
      if (hasFiles(e)) e.preventDefault();
    };
    const end = () => setDragging(false);
    window.addEventListener('dragover', ignore);
    window.addEventListener('drop', ignore);
    window.addEventListener('dragend', end);
    return () => {
      window.removeEventListener('dragover', ignore);
      window.removeEventListener('drop', ignore);
      window.removeEventListener('dragend', end);
    };
  }, []);
  const canInvite = room.kind === 'public' || room.my_role === 'owner' || room.my_role === 'moderator';
  const title = store.roomTitle(room);
  const partner = room.kind === 'direct' ? store.dmPartner(room) : undefined;
  return (
    <section
      class={'room' + (dragging ? ' dragging' : '')}
      aria-label={`Room ${title}`}
      onDragOver={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => {
        // Leaving for a child element is not leaving the room.
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
      }}
      onDrop={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        setDragging(false);
        attachFiles.current?.(Array.from(e.dataTransfer?.files ?? []));
      }}
    >
      <header class="room-header">
        <button class="menu-button" aria-label="Show rooms" onClick={props.onMenu}>
          ☰
        </button>
        <div class="room-title">
          <h2>
            {room.kind === 'direct' ? (
              <>
                <PresenceDot user={partner} /> {title}
              </>
            ) : (
              <>
                {room.kind === 'private' ? '🔒 ' : '# '}
                {title}
              </>
            )}
          </h2>
          {editingTopic ? (
            <TopicEditor room={room} onDone={() => setEditingTopic(false)} />
          ) : (
            (room.topic || canTopic) && (
              <p class="topic">
                {room.topic}
                {canTopic && (
                  <button class="link topic-edit" onClick={() => setEditingTopic(true)}>
                    {room.topic ? 'Edit topic' : 'Set a topic'}
                  </button>
                )}
              </p>
            )
          )}
        </div>
        <div class="room-actions">
          <button aria-expanded={showMembers} onClick={() => setShowMembers(!showMembers)}>
            Members ({room.member_count})
          </button>
          {room.kind !== 'direct' && canInvite && <button onClick={props.onInvite}>Invite</button>}
          {room.kind !== 'direct' && <button onClick={props.onLeave}>Leave</button>}
        </div>
      </header>
      <div class="room-body">
        <MessageList room={room} onReply={setReplyTo} />
        {showMembers && <MemberList room={room} />}
      </div>
      <TypingLine room={room.id} />
      <Composer room={room} replyTo={replyTo} onCancelReply={() => setReplyTo(null)} attachFiles={attachFiles} />
    </section>
  );
}

export function PresenceDot({ user }: { user?: number }) {
  const status = (user !== undefined && store.presence.get(user)) || 'offline';
  return <span class={`presence presence-${status}`} role="img" aria-label={status} title={status} />;
}

// Roles the current user may give to a member with role `theirs` (docs/protocol.md policy):
// owners set any role; moderators promote members to moderator; nobody else changes roles.
function assignableRoles(mine: Room['my_role'], theirs: Role): Role[] {
  if (mine === 'owner') return ['owner', 'moderator', 'member'];
  if (mine === 'moderator' && theirs === 'member') return ['moderator', 'member'];
  return [];
}

function canRemove(mine: Room['my_role'], theirs: Role): boolean {
  return mine === 'owner' || (mine === 'moderator' && theirs === 'member');
}

function MemberList({ room }: { room: Room }) {
  const members: Member[] = store.members.get(room.id) ?? [];
  const [error, setError] = useState('');
  const [confirm, setConfirm] = useState<number | null>(null);
  const act = (f: () => Promise<unknown>) => {
    setError('');
    f()
      .then(() => store.loadMembers(room.id))
      .catch((e) => setError((e as Error).message));
  };
  return (
    <aside class="members" aria-label="Members">
      <h3>Members</h3>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <ul>
        {members.map((m) => {
          const me = m.id === store.me?.id;
          const roles = room.kind === 'direct' || me ? [] : assignableRoles(room.my_role, m.role);
          return (
            <li key={m.id}>
              <div>
                <PresenceDot user={m.id} /> {m.username}
                {m.role !== 'member' && <span class="muted"> · {m.role}</span>}
              </div>
              {roles.length > 0 && (
                <select
                  aria-label={`Role of ${m.username}`}
                  value={m.role}
                  onChange={(e) => {
                    const role = e.currentTarget.value as Role;
                    act(() => api.setRole(room.id, m.id, role));
                  }}
                >
                  {[...new Set([m.role, ...roles])].map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              )}
              {room.kind !== 'direct' && !me && canRemove(room.my_role, m.role) &&
                (confirm === m.id ? (
                  <span>
                    <button class="danger" onClick={() => act(() => api.removeMember(room.id, m.id))}>
                      Remove {m.username}
                    </button>
                    <button onClick={() => setConfirm(null)}>Cancel</button>
                  </span>
                ) : (
                  <button onClick={() => setConfirm(m.id)} aria-label={`Remove ${m.username} from the room`}>
                    Remove
                  </button>
                ))}
            </li>
          );
        })}
      </ul>
    </aside>
  );
}

function TopicEditor({ room, onDone }: { room: Room; onDone: () => void }) {
  const [topic, setTopic] = useState(room.topic);
  const [error, setError] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <form
      class="topic-editor"
      onSubmit={(e) => {
        e.preventDefault();
        api
          .setTopic(room.id, topic.trim())
          .then(({ room: r }) => {
            store.addRoom(r);
            store.emit();
            onDone();
          })
          .catch((err) => setError((err as Error).message));
      }}
    >
      <input
        aria-label="Topic"
        maxLength={500}
        value={topic}
        onInput={(e) => setTopic(e.currentTarget.value)}
        onKeyDown={(e) => e.key === 'Escape' && onDone()}
        ref={input}
      />
      <button type="submit" class="primary">
        Save
      </button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}

function TypingLine({ room }: { room: number }) {
  const names = store.typists(room);
  const text =
    names.length === 0
      ? ''
      : names.length === 1
        ? `${names[0]} is typing…`
        : names.length === 2
          ? `${names[0]} and ${names[1]} are typing…`
          : 'Several people are typing…';
  return (
    <div class="typing" aria-live="polite">
      {text}
    </div>
  );
}

function MessageList({ room, onReply }: { room: Room; onReply: (m: Message) => void }) {
  const tl = store.timelines.get(room.id);
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true); // follow new messages while the view is at the bottom
  const prevHeight = useRef(0);
  const prevFirst = useRef<number | undefined>(undefined);
  const messages = tl?.messages ?? [];
  const pending = tl?.pending ?? [];
  const firstId = messages[0]?.id;
  const lastRead = useRef(room.last_read_seq ?? 0);
  useEffect(() => {
    lastRead.current = room.last_read_seq ?? 0;
    stick.current = true;
  }, [room.id]);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (prevFirst.current !== undefined && firstId !== prevFirst.current && !stick.current) {
      // Older messages were prepended: keep the same messages in view.
      el.scrollTop += el.scrollHeight - prevHeight.current;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
    prevFirst.current = firstId;
    prevHeight.current = el.scrollHeight;
    // Not enough history to scroll yet: load more.
    if (el.scrollHeight <= el.clientHeight + 40 && tl && tl.nextBefore) void store.loadOlder(room.id);
  });

  // The list gets shorter when the composer grows (files, a reply, a long draft): whoever was
  // at the bottom stays there.
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => {
      if (stick.current) el.scrollTop = el.scrollHeight;
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const onScroll = () => {
    const el = ref.current!;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
    prevHeight.current = el.scrollHeight;
    if (el.scrollTop < 120 && tl?.nextBefore) void store.loadOlder(room.id);
    if (stick.current) store.markRead(room.id);
  };

  const byId = new Map(messages.map((m) => [m.id, m]));
  const items: JSX.Element[] = [];
  let lastDay = '';
  let lastAuthor = -1;
  let lastTime = 0;
  let newMarkerShown = false;
  for (const m of messages) {
    const day = dayKey(m.created_at);
    if (day !== lastDay) {
      items.push(
        <li key={`day-${day}`} class="day-separator" role="separator" aria-label={formatDay(m.created_at)}>
          <span>{formatDay(m.created_at)}</span>
        </li>,
      );
      lastDay = day;
      lastAuthor = -1;
    }
    if (!newMarkerShown && lastRead.current > 0 && m.seq > lastRead.current && m.author !== store.me?.id) {
      items.push(
        <li key="new" class="new-separator" role="separator" aria-label="New messages">
          <span>New</span>
        </li>,
      );
      newMarkerShown = true;
      lastAuthor = -1;
    }
    const t = Date.parse(m.created_at);
    const compact = m.author === lastAuthor && t - lastTime < 5 * 60 * 1000 && !m.reply_to;
    items.push(
      <MessageItem key={m.id} m={m} compact={compact} replied={m.reply_to ? byId.get(m.reply_to) : undefined} onReply={onReply} />,
    );
    lastAuthor = m.author;
    lastTime = t;
  }
  for (const p of pending) items.push(<PendingItem key={p.client_id} p={p} room={room.id} />);

  return (
    <div
      class="messages"
      ref={ref}
      onScroll={onScroll}
      tabIndex={0}
      role="log"
      aria-live="polite"
      aria-relevant="additions"
      aria-label="Messages"
    >
      {tl?.nextBefore === null ? (
        <p class="history-start">This is the beginning of {store.roomTitle(room) || 'the room'}.</p>
      ) : (
        <p class="history-start">{store.isLoadingOlder(room.id) ? 'Loading older messages…' : ' '}</p>
      )}
      <ol>{items}</ol>
    </div>
  );
}

function PendingItem({ p, room }: { p: Pending; room: number }) {
  return (
    <li class={'message pending' + (p.failed ? ' failed' : '')} aria-busy={!p.failed}>
      <div class="meta">
        <strong class="author">{store.me?.username}</strong>{' '}
        <span class="muted">{p.failed ? `not sent: ${p.failed}` : 'sending…'}</span>
      </div>
      <div class="body">
        <Markdown text={p.body} me={store.me?.username} />
      </div>
      {p.attachments && p.attachments.length > 0 && <AttachmentList list={p.attachments} />}
      {p.failed && (
        <button
          onClick={() => {
            const tl = store.timelines.get(room);
            if (tl) tl.pending = tl.pending.filter((x) => x !== p);
            // Its files were never attached: only their uploader can still delete them.
            for (const a of p.attachments ?? []) void api.discardAttachment(a.id).catch(() => {});
            store.emit();
          }}
        >
          Discard
        </button>
      )}
    </li>
  );
}

function MessageItem(props: { m: Message; compact: boolean; replied?: Message; onReply: (m: Message) => void }) {
  const { m } = props;
  const me = store.me!;
  const mine = m.author === me.id;
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [picking, setPicking] = useState(false);
  const [error, setError] = useState('');
  const act = (f: () => Promise<unknown>) => {
    setError('');
    f().catch((e) => setError((e as Error).message));
  };
  const mentioned = m.mentions.includes(me.username);
  return (
    <li
      class={'message' + (props.compact ? ' compact' : '') + (mentioned ? ' mentioned' : '') + (m.deleted ? ' deleted' : '')}
      data-id={m.id}
      data-seq={m.seq}
      tabIndex={0} // focus (Tab or tap) reveals the action buttons
    >
      {m.reply_to && (
        <div class="reply-quote">
          ↪{' '}
          {props.replied ? (
            <>
              <strong>{props.replied.author_username}</strong> {props.replied.deleted ? '(deleted)' : plainText(props.replied.body, 80) || attachmentSummary(props.replied.attachments)}
            </>
          ) : (
            'an earlier message'
          )}
        </div>
      )}
      {!props.compact && (
        <div class="meta">
          <strong class="author">{m.author_username}</strong>{' '}
          <time dateTime={m.created_at} title={new Date(m.created_at).toLocaleString()}>
            {formatTime(m.created_at)}
          </time>
        </div>
      )}
      {m.deleted ? (
        <div class="body muted">
          <em>message deleted</em>
        </div>
      ) : editing ? (
        <EditBox
          initial={m.body}
          onCancel={() => setEditing(false)}
          onSave={(body) =>
            act(async () => {
              await api.edit(m.id, body);
              setEditing(false);
            })
          }
        />
      ) : (
        <div class="body">
          <Markdown text={m.body} me={me.username} />
          {m.edited_at && <span class="muted edited"> (edited)</span>}
        </div>
      )}
      {!m.deleted && m.attachments && m.attachments.length > 0 && (
        <AttachmentList list={m.attachments} onScanning={(a) => store.watchScan(a)} />
      )}
      {m.reactions.length > 0 && (
        <div class="reactions" role="group" aria-label="Reactions">
          {m.reactions.map((r) => {
            const on = r.users.includes(me.id);
            return (
              <button
                key={r.emoji}
                class={on ? 'reaction on' : 'reaction'}
                aria-pressed={on}
                aria-label={`${r.emoji} ${r.users.length}`}
                onClick={() => act(() => api.react(m.id, r.emoji, !on))}
              >
                {r.emoji} {r.users.length}
              </button>
            );
          })}
        </div>
      )}
      {!m.deleted && !editing && (
        <div class="actions" role="toolbar" aria-label="Message actions">
          <button onClick={() => props.onReply(m)}>Reply</button>
          <button aria-expanded={picking} onClick={() => setPicking(!picking)}>
            React
          </button>
          {mine && <button onClick={() => setEditing(true)}>Edit</button>}
          {(mine || (store.rooms.get(m.room)?.my_role !== 'member' && store.rooms.get(m.room)?.kind !== 'direct')) &&
            (confirmDelete ? (
              <>
                <button class="danger" onClick={() => act(() => api.remove(m.id))}>
                  Delete for everyone
                </button>
                <button onClick={() => setConfirmDelete(false)}>Cancel</button>
              </>
            ) : (
              <button onClick={() => setConfirmDelete(true)}>Delete</button>
            ))}
        </div>
      )}
      {picking && (
        <div class="picker" role="group" aria-label="Pick a reaction">
          {reactionChoices.map((e) => (
            <button
              key={e}
              aria-label={`React with ${e}`}
              onClick={() => {
                setPicking(false);
                act(() => api.react(m.id, e, true));
              }}
            >
              {e}
            </button>
          ))}
        </div>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

function EditBox(props: { initial: string; onSave: (body: string) => void; onCancel: () => void }) {
  const [text, setText] = useState(props.initial);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <form
      class="edit"
      onSubmit={(e) => {
        e.preventDefault();
        if (text.trim()) props.onSave(text.trim());
      }}
    >
      <textarea
        ref={ref}
        aria-label="Edit message"
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') props.onCancel();
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            if (text.trim()) props.onSave(text.trim());
          }
        }}
      />
      <button type="submit" class="primary">
        Save
      </button>
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}

function Composer(props: {
  room: Room;
  replyTo: Message | null;
  onCancelReply: () => void;
  attachFiles: { current: ((files: File[]) => void) | null };
}) {
  const { room } = props;
  const [text, setText] = useState('');
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [triedToSend, setTriedToSend] = useState(false);
  const handles = useRef(new Map<string, UploadHandle>());
  const wanted = useRef(new Set<string>()); // uploads still in the composer (not removed, not sent)
  const current = useRef(uploads);
  current.current = uploads;
  const picker = useRef<HTMLInputElement>(null);
  const patch = (key: string, change: Partial<Upload>) =>
    setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...change } : u)));
  const maxFileBytes = useRef<number | null>(null);
  useEffect(() => {
    api
      .myStorage()
      .then((s) => (maxFileBytes.current = s.max_file_bytes))
      .catch(() => {}); // unknown: the server still refuses with 413
  }, []);
  const addFiles = (files: File[]) => {
    setTriedToSend(false);
    for (const file of files) {
      const key = crypto.randomUUID();
      const name = file.name || 'file';
      const problem = sizeProblem(file.size, maxFileBytes.current);
      if (problem) {
        setUploads((list) => [...list, { key, name, size: file.size, sent: 0, state: 'failed', error: problem }]);
        continue;
      }
      wanted.current.add(key);
      setUploads((list) => [...list, { key, name, size: file.size, sent: 0, state: 'uploading' }]);
      const h = uploadFile(room.id, file, (sent) => patch(key, { sent }));
      handles.current.set(key, h);
      h.done
        .then((attachment) => {
          // Removed (or the room left) while the last bytes went out: the file is not wanted.
          if (wanted.current.has(key)) patch(key, { state: 'done', attachment, sent: file.size });
          else void api.discardAttachment(attachment.id).catch(() => {});
        })
        .catch((e: ApiError) => {
          if (e.code !== 'aborted') patch(key, { state: 'failed', error: e.message });
        })
        .finally(() => handles.current.delete(key));
    }
  };
  props.attachFiles.current = addFiles;
  // Cancels the upload, or deletes the stored file (only possible before it is sent).
  const discard = (u: Upload) => {
    wanted.current.delete(u.key);
    handles.current.get(u.key)?.abort();
    if (u.state === 'done' && u.attachment) void api.discardAttachment(u.attachment.id).catch(() => {});
  };
  const removeUpload = (u: Upload) => {
    discard(u);
    setUploads((list) => list.filter((x) => x.key !== u.key));
    ref.current?.focus();
  };
  useEffect(() => {
    setUploads([]);
    setTriedToSend(false);
    // Switching rooms (or signing out) drops the files not sent: they would only wait for the
    // server's clean-up.
    return () => current.current.forEach(discard);
  }, [room.id]);
  const [suggest, setSuggest] = useState<{ start: number; query: string; index: number } | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    setText('');
    ref.current?.focus();
  }, [room.id]);
  useEffect(() => {
    if (props.replyTo) ref.current?.focus();
  }, [props.replyTo]);

  const members = store.members.get(room.id) ?? [];
  const matches = suggest
    ? members
        .filter((m) => m.id !== store.me?.id && m.username.startsWith(suggest.query.toLowerCase()))
        .slice(0, 8)
    : [];

  const updateSuggest = (value: string, caret: number) => {
    const m = /(^|[^\w@])@([a-z0-9_.-]{0,32})$/i.exec(value.slice(0, caret));
    setSuggest(m ? { start: caret - m[2].length - 1, query: m[2], index: 0 } : null);
  };

  const complete = (username: string) => {
    if (!suggest) return;
    const el = ref.current!;
    const caret = el.selectionStart ?? text.length;
    const next = text.slice(0, suggest.start) + '@' + username + ' ' + text.slice(caret);
    setText(next);
    setSuggest(null);
    const pos = suggest.start + username.length + 2;
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(pos, pos);
    });
  };

  const blocker = sendBlocker(text, uploads);
  const send = () => {
    if (blocker) {
      setTriedToSend(true);
      return;
    }
    const body = text.trim();
    const files = finishedAttachments(uploads);
    store.send(room.id, body, props.replyTo?.id ?? null, files);
    for (const u of uploads) if (u.state === 'done') wanted.current.delete(u.key);
    setUploads((list) => list.filter((u) => u.state !== 'done'));
    setTriedToSend(false);
    setText('');
    setSuggest(null);
    props.onCancelReply();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (matches.length > 0 && suggest) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const d = e.key === 'ArrowDown' ? 1 : matches.length - 1;
        setSuggest({ ...suggest, index: (suggest.index + d) % matches.length });
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        complete(matches[suggest.index % matches.length].username);
        return;
      }
      if (e.key === 'Escape') {
        setSuggest(null);
        return;
      }
    }
    if (e.key === 'Escape' && props.replyTo) props.onCancelReply();
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  };

  const listId = `mentions-${room.id}`;
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {props.replyTo && (
        <div class="replying">
          Replying to <strong>{props.replyTo.author_username}</strong>: {plainText(props.replyTo.body, 60) || attachmentSummary(props.replyTo.attachments)}{' '}
          <button type="button" onClick={props.onCancelReply} aria-label="Cancel reply">
            ×
          </button>
        </div>
      )}
      <UploadList uploads={uploads} hint={triedToSend ? blockerHint(blocker) : ''} onRemove={removeUpload} />
      {matches.length > 0 && suggest && (
        <ul class="mention-list" id={listId} role="listbox" aria-label="Mention someone">
          {matches.map((m, i) => (
            <li
              key={m.id}
              id={`${listId}-${m.id}`}
              role="option"
              aria-selected={i === suggest.index % matches.length}
              onMouseDown={(e) => {
                e.preventDefault();
                complete(m.username);
              }}
            >
              @{m.username}
            </li>
          ))}
        </ul>
      )}
      <textarea
        ref={ref}
        rows={1}
        aria-label={`Message ${store.roomTitle(room)}`}
        placeholder={`Message ${room.kind === 'direct' ? store.roomTitle(room) : '#' + room.name}`}
        role="combobox"
        aria-expanded={matches.length > 0}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={matches.length > 0 && suggest ? `${listId}-${matches[suggest.index % matches.length].id}` : undefined}
        value={text}
        maxLength={8000}
        onInput={(e) => {
          const el = e.currentTarget;
          setText(el.value);
          updateSuggest(el.value, el.selectionStart ?? el.value.length);
          if (el.value.trim()) store.typingIn(room.id);
        }}
        onKeyDown={onKeyDown}
        onPaste={(e) => {
          // A pasted screenshot or file is attached; pasted text stays text.
          const files = Array.from(e.clipboardData?.files ?? []);
          if (files.length === 0) return;
          e.preventDefault();
          addFiles(files);
        }}
      />
      <input
        ref={picker}
        type="file"
        multiple
        hidden
        aria-label="Choose files to attach"
        onChange={(e) => {
          const input = e.currentTarget;
          addFiles(Array.from(input.files ?? []));
          input.value = '';
        }}
      />
      <button type="button" class="attach" aria-label="Attach files" title="Attach files" onClick={() => picker.current?.click()}>
        📎
      </button>
      {/* Enabled while uploads run, so a click can say why it does not send yet. */}
      <button type="submit" class="primary" disabled={blocker === 'empty'}>
        Send
      </button>
    </form>
  );
}
