// REST client for /api/v1 (docs/protocol.md). Same origin, session cookie sent by the browser.
import type { Attachment, AuditChain, AuditCheckpoint, AuditEntry, Member, Message, Room, Session, StorageUse, User } from './types';

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch('/api/v1' + path, init);
  } catch {
    throw new ApiError(0, 'unavailable', 'The server cannot be reached.');
  }
  if (res.status === 204) return undefined as T;
  let json: any = null;
  try {
    json = await res.json();
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const e = json?.error;
    throw new ApiError(res.status, e?.code ?? 'internal', e?.message ?? `HTTP ${res.status}`);
  }
  return json as T;
}

const id = (n: number) => encodeURIComponent(String(n));

export const api = {
  register: (username: string, email: string, password: string) =>
    call<{ user: User }>('POST', '/auth/register', { username, email, password }),
  login: (username: string, password: string) => call<{ user: User }>('POST', '/auth/login', { username, password }),
  logout: () => call<void>('POST', '/auth/logout'),
  verifyEmail: (token: string) => call<{ email_verified: boolean }>('POST', '/auth/verify-email', { token }),
  requestPasswordReset: (email: string) => call<{ status: string }>('POST', '/auth/password-reset', { email }),
  confirmPasswordReset: (token: string, password: string) =>
    call<void>('POST', '/auth/password-reset/confirm', { token, password }),
  me: () => call<{ user: User; session_id: number }>('GET', '/me'),
  sessions: () => call<{ sessions: Session[] }>('GET', '/sessions'),
  setDisplayName: (display_name: string) => call<{ user: User }>('PATCH', '/me', { display_name }),
  changePassword: (current_password: string, new_password: string, end_other_sessions: boolean) =>
    call<void>('POST', '/me/password', { current_password, new_password, end_other_sessions }),
  myStorage: () =>
    call<{ bytes: number; files: number; quota_bytes: number; max_file_bytes: number }>('GET', '/me/storage'),

  adminUsers: () => call<{ users: User[] }>('GET', '/admin/users'),
  adminUpdateUser: (u: number, change: { disabled?: boolean; is_admin?: boolean }) =>
    call<{ user: User }>('PATCH', `/admin/users/${id(u)}`, change),
  adminStorage: () => call<{ users: StorageUse[] }>('GET', '/admin/storage'),
  setQuota: (u: number, quota_bytes: number | null) =>
    call<{ user_id: number; quota_bytes: number }>('PUT', `/admin/users/${id(u)}/quota`, { quota_bytes }),
  adminAudit: (before?: number | null, limit = 50) =>
    call<{ entries: AuditEntry[]; next_before: number | null; chain: AuditChain; checkpoint: AuditCheckpoint | null }>(
      'GET',
      `/admin/audit?limit=${limit}` + (before ? `&before=${encodeURIComponent(String(before))}` : ''),
    ),
  revokeSession: (s: number) => call<void>('DELETE', `/sessions/${id(s)}`),

  rooms: () => call<{ rooms: Room[] }>('GET', '/rooms'),
  publicRooms: () => call<{ rooms: Room[] }>('GET', '/rooms/public'),
  room: (r: number) => call<{ room: Room }>('GET', `/rooms/${id(r)}`),
  createRoom: (name: string, kind: 'public' | 'private', topic: string) =>
    call<{ room: Room }>('POST', '/rooms', { name, kind, topic }),
  setTopic: (r: number, topic: string) => call<{ room: Room }>('PATCH', `/rooms/${id(r)}`, { topic }),
  join: (r: number) => call<{ room: Room }>('POST', `/rooms/${id(r)}/join`),
  leave: (r: number) => call<void>('POST', `/rooms/${id(r)}/leave`),
  invite: (r: number, username: string) => call<void>('POST', `/rooms/${id(r)}/invite`, { username }),
  members: (r: number) => call<{ members: Member[] }>('GET', `/rooms/${id(r)}/members`),
  setRole: (r: number, user: number, role: 'owner' | 'moderator' | 'member') =>
    call<void>('PUT', `/rooms/${id(r)}/members/${id(user)}`, { role }),
  removeMember: (r: number, user: number) => call<void>('DELETE', `/rooms/${id(r)}/members/${id(user)}`),
  read: (r: number, seq: number) => call<void>('POST', `/rooms/${id(r)}/read`, { seq }),
  dm: (username: string) => call<{ room: Room }>('POST', '/dms', { username }),

  history: (r: number, before?: number | null, limit = 50) =>
    call<{ messages: Message[]; next_before: number | null }>(
      'GET',
      `/rooms/${id(r)}/messages?limit=${limit}` + (before ? `&before=${encodeURIComponent(String(before))}` : ''),
    ),
  edit: (m: number, body: string) => call<unknown>('PATCH', `/messages/${id(m)}`, { body }),
  remove: (m: number) => call<void>('DELETE', `/messages/${id(m)}`),
  attachmentMeta: (a: number) => call<{ attachment: Attachment }>('GET', `/attachments/${id(a)}/meta`),
  discardAttachment: (a: number) => call<void>('DELETE', `/attachments/${id(a)}`),
  react: (m: number, emoji: string, on: boolean) =>
    call<void>(on ? 'PUT' : 'DELETE', `/messages/${id(m)}/reactions/${encodeURIComponent(emoji)}`),
};
