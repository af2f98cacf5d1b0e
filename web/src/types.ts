// Wire types from docs/protocol.md.
export interface User {
  id: number;
  username: string;
  display_name: string;
  email: string;
  email_verified?: boolean;
  is_admin: boolean;
  disabled?: boolean;
  created_at: string;
}

export interface StorageUse {
  user_id: number;
  username: string;
  bytes: number;
  files: number;
  quota_bytes: number;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor_id: number | null;
  actor: string;
  action: string;
  target: string;
  ip: string;
  request_id: string;
  outcome: string;
  details: Record<string, unknown>;
}

export interface AuditChain {
  ok: boolean;
  checked: number;
  bad: number;
  first_bad_id: number | null;
}

// The newest signed checkpoint of the log, checked by the server with its own key.
export interface AuditCheckpoint {
  audit_id: number;
  signed_at: string;
  status: 'ok' | 'unknown_key' | 'tampered';
  message: string;
}

export interface Session {
  id: number;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  user_agent: string;
  ip: string;
  current: boolean;
}

export type RoomKind = 'public' | 'private' | 'direct';
export type Role = 'owner' | 'moderator' | 'member';

export interface Room {
  id: number;
  kind: RoomKind;
  name: string;
  topic: string;
  created_at: string;
  last_seq: number;
  member_count: number;
  my_role?: Role | 'none' | null; // 'none': not a member (public room listing)
  last_read_seq?: number;
  unread?: number;
  mentions_unread?: number;
  members?: number[];
}

export interface Member {
  id: number;
  username: string;
  display_name: string;
  role: Role;
}

export interface Reaction {
  emoji: string;
  users: number[];
}

// An uploaded file (docs/protocol.md "Attachments").
export interface Attachment {
  id: number;
  room: number;
  uploader: number;
  filename: string;
  content_type: string;
  size: number;
  sha256: string;
  created_at: string;
  message_id: number | null;
  state: 'ready' | 'scanning' | 'rejected';
  inline: boolean; // PNG/JPEG/GIF/WebP: shown as an image
  thumbnail: boolean;
}

export interface Message {
  id: number;
  room: number;
  seq: number;
  author: number;
  author_username: string;
  client_id: string;
  body: string;
  reply_to: number | null;
  created_at: string;
  edited_at: string | null;
  deleted: boolean;
  mentions: string[];
  reactions: Reaction[];
  attachments?: Attachment[];
}

export interface RoomEvent {
  type: 'event';
  room: number;
  seq: number;
  kind: string;
  actor: number | null;
  at: string;
  data: any;
}
