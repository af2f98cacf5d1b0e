// Per-room client state fed by REST history pages and WebSocket events: the resume cursor
// (last event seq applied), messages unique by id in seq order, and sends not yet confirmed.
// Every operation is idempotent, so a replay after a reconnect or a history page that overlaps
// live events never duplicates or loses a message. Pure: no I/O, unit-tested.
import type { Attachment, Message, RoomEvent } from './types';

export interface Pending {
  client_id: string;
  body: string;
  attachments?: Attachment[];
  reply_to: number | null;
  created_at: string;
  acked: boolean;
  failed?: string;
}

export interface Timeline {
  cursor: number; // events with seq <= cursor were applied (or are covered by REST state)
  messages: Message[]; // sorted by seq, unique by id
  nextBefore: number | null | undefined; // undefined: history not loaded; null: at the start
  pending: Pending[];
}

export function newTimeline(cursor: number): Timeline {
  return { cursor, messages: [], nextBefore: undefined, pending: [] };
}

function indexOfId(tl: Timeline, id: number): number {
  return tl.messages.findIndex((m) => m.id === id);
}

// Inserts or replaces one message, keeping seq order and id uniqueness.
export function upsertMessage(tl: Timeline, m: Message): void {
  const at = indexOfId(tl, m.id);
  if (at >= 0) {
    tl.messages[at] = m;
    return;
  }
  let i = tl.messages.length;
  while (i > 0 && tl.messages[i - 1].seq > m.seq) i--;
  tl.messages.splice(i, 0, m);
  // A message of ours seen from the server is no longer pending.
  tl.pending = tl.pending.filter((p) => p.client_id !== m.client_id);
}

// Merges a history page (older messages) and remembers where the next page starts.
export function mergeHistory(tl: Timeline, page: Message[], nextBefore: number | null): void {
  for (const m of page) {
    const at = indexOfId(tl, m.id);
    // A live event may already hold a newer state of the same message: keep it.
    if (at < 0) upsertMessage(tl, m);
  }
  if (tl.nextBefore === undefined || nextBefore === null || (tl.nextBefore !== null && nextBefore < tl.nextBefore)) {
    tl.nextBefore = nextBefore;
  }
}

export type ApplyResult = 'applied' | 'duplicate' | 'gap';

// Applies one room event. Events at or below the cursor are duplicates (replays) and ignored.
// A jump past cursor+1 is reported as 'gap' (the protocol promises none; the caller reloads).
export function applyEvent(tl: Timeline, ev: RoomEvent): ApplyResult {
  if (ev.seq <= tl.cursor) return 'duplicate';
  const result: ApplyResult = ev.seq === tl.cursor + 1 ? 'applied' : 'gap';
  tl.cursor = ev.seq;
  const d = ev.data ?? {};
  const find = (id: number) => tl.messages.find((m) => m.id === id);
  switch (ev.kind) {
    case 'message':
      upsertMessage(tl, d as Message);
      break;
    case 'message_edited': {
      const m = find(d.message_id);
      if (m) Object.assign(m, { body: d.body, edited_at: d.edited_at });
      break;
    }
    case 'message_deleted': {
      const m = find(d.message_id);
      if (m) Object.assign(m, { body: '', deleted: true, reactions: [] });
      break;
    }
    case 'reaction_added':
    case 'reaction_removed': {
      const m = find(d.message_id);
      if (m) setReaction(m, d.emoji, d.user_id, ev.kind === 'reaction_added');
      break;
    }
  }
  return result;
}

// Idempotent: adding twice or removing a missing reaction changes nothing.
export function setReaction(m: Message, emoji: string, user: number, on: boolean): void {
  const reactions = m.reactions.map((r) => ({ emoji: r.emoji, users: [...r.users] }));
  let r = reactions.find((x) => x.emoji === emoji);
  if (on) {
    if (!r) reactions.push((r = { emoji, users: [] }));
    if (!r.users.includes(user)) r.users.push(user);
  } else if (r) {
    r.users = r.users.filter((u) => u !== user);
  }
  m.reactions = reactions.filter((x) => x.users.length > 0);
}

// A newer state of an attachment (its malware scan ended): every message holding it gets a
// copy with the new one. Returns whether anything changed.
export function replaceAttachment(tl: Timeline, a: Attachment): boolean {
  let changed = false;
  const swap = (list: Attachment[] | undefined) => {
    if (!list?.some((x) => x.id === a.id)) return list;
    changed = true;
    return list.map((x) => (x.id === a.id ? a : x));
  };
  tl.messages.forEach((m, i) => {
    const attachments = swap(m.attachments);
    if (attachments !== m.attachments) tl.messages[i] = { ...m, attachments };
  });
  for (const p of tl.pending) p.attachments = swap(p.attachments);
  return changed;
}

export function addPending(tl: Timeline, p: Pending): void {
  if (!tl.pending.some((x) => x.client_id === p.client_id)) tl.pending.push(p);
}

// After an ack the message is durable; it stays shown as pending until its event arrives,
// unless the event came first.
export function ackPending(tl: Timeline, clientId: string): void {
  for (const p of tl.pending) if (p.client_id === clientId) p.acked = true;
}

// The subscribe frame's "rooms": the last seq held per room.
export function resumeCursors(timelines: Map<number, Timeline>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [room, tl] of timelines) out[String(room)] = tl.cursor;
  return out;
}

// Sends to repeat after a reconnect: not acknowledged yet (same client_id, so the server
// answers a duplicate with the original ack instead of posting twice).
export function unackedSends(tl: Timeline): Pending[] {
  return tl.pending.filter((p) => !p.acked && !p.failed);
}

// Day key (local time) for separators.
export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}
