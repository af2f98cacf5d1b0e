// Application state and the WebSocket connection: rooms, timelines, presence, typing.
// One instance per page; views subscribe and re-render on every change.
import { api, ApiError } from './api';
import {
  ackPending,
  addPending,
  applyEvent,
  mergeHistory,
  newTimeline,
  replaceAttachment,
  resumeCursors,
  unackedSends,
  type Timeline,
} from './timeline';
import type { Attachment, Member, Room, RoomEvent, User } from './types';
import { scanPollAttempts, scanPollDelay, sendFrame } from './uploads';

export type ConnState = 'connecting' | 'online' | 'reconnecting';

export interface Typist {
  username: string;
  until: number;
}

type Listener = () => void;

const typingTtlMs = 6000;
// WebSocket close code: the session the connection was opened with ended (docs/protocol.md).
export const SESSION_ENDED = 4401;

export class Store {
  me: User | null = null;
  authChecked = false;
  rooms = new Map<number, Room>();
  timelines = new Map<number, Timeline>();
  members = new Map<number, Member[]>();
  usernames = new Map<number, string>();
  presence = new Map<number, 'online' | 'away' | 'offline'>();
  typing = new Map<number, Map<number, Typist>>();
  active: number | null = null;
  conn: ConnState = 'connecting';
  lastError = '';

  private listeners = new Set<Listener>();
  private ws: WebSocket | null = null;
  private backoffMs = 500;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  private lastTypingSent = new Map<number, number>();
  private readSent = new Map<number, number>();
  private loadingOlder = new Set<number>();
  private scanWatch = new Set<number>();

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  emit(): void {
    for (const l of this.listeners) l();
  }

  // --- session

  async init(): Promise<void> {
    try {
      const { user } = await api.me();
      await this.start(user);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) this.lastError = (e as Error).message;
    }
    this.authChecked = true;
    this.emit();
  }

  async start(user: User): Promise<void> {
    this.me = user;
    this.usernames.set(user.id, user.username);
    const { rooms } = await api.rooms();
    for (const r of rooms) this.addRoom(r);
    await Promise.all(rooms.filter((r) => r.kind === 'direct').map((r) => this.loadMembers(r.id).catch(() => {})));
    this.stopped = false;
    this.connect();
    this.emit();
  }

  async logout(): Promise<void> {
    try {
      await api.logout();
    } finally {
      this.reset();
    }
  }

  // Forget everything (after logout or when the session is gone).
  reset(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.ws?.close(1000);
    this.ws = null;
    this.me = null;
    this.rooms.clear();
    this.timelines.clear();
    this.members.clear();
    this.typing.clear();
    this.presence.clear();
    this.active = null;
    this.conn = 'connecting';
    this.emit();
  }

  // --- rooms

  addRoom(r: Room): void {
    const prev = this.rooms.get(r.id);
    this.rooms.set(r.id, { ...prev, ...r });
    // The cursor starts at the room's last seq: the subscribe replays anything after it.
    if (!this.timelines.has(r.id)) this.timelines.set(r.id, newTimeline(r.last_seq));
  }

  dropRoom(id: number): void {
    this.rooms.delete(id);
    this.timelines.delete(id);
    this.members.delete(id);
    if (this.active === id) this.active = null;
  }

  roomTitle(r: Room): string {
    if (r.kind !== 'direct') return r.name;
    const others = (r.members ?? []).filter((m) => m !== this.me?.id);
    const names = others.map((m) => this.usernames.get(m) ?? `user ${m}`);
    return names.length ? names.join(', ') : (this.me?.username ?? 'me');
  }

  dmPartner(r: Room): number | undefined {
    return (r.members ?? []).find((m) => m !== this.me?.id);
  }

  async loadMembers(room: number): Promise<Member[]> {
    const { members } = await api.members(room);
    for (const m of members) this.usernames.set(m.id, m.username);
    this.members.set(room, members);
    this.emit();
    return members;
  }

  async refreshRoom(room: number): Promise<void> {
    try {
      const { room: r } = await api.room(room);
      this.addRoom(r);
      if (r.kind === 'direct') await this.loadMembers(r.id);
      this.emit();
    } catch {
      /* gone or not visible */
    }
  }

  setActive(room: number | null): void {
    this.active = room;
    if (room !== null) {
      const tl = this.timelines.get(room);
      if (tl && tl.nextBefore === undefined) void this.loadOlder(room);
      if (!this.members.has(room)) void this.loadMembers(room).catch(() => {});
      this.markRead(room);
    }
    this.emit();
  }

  async loadOlder(room: number): Promise<void> {
    const tl = this.timelines.get(room);
    if (!tl || tl.nextBefore === null || this.loadingOlder.has(room)) return;
    this.loadingOlder.add(room);
    try {
      const page = await api.history(room, tl.nextBefore);
      mergeHistory(tl, page.messages, page.next_before);
      this.emit();
    } catch (e) {
      this.lastError = (e as Error).message;
      this.emit();
    } finally {
      this.loadingOlder.delete(room);
    }
  }

  isLoadingOlder(room: number): boolean {
    return this.loadingOlder.has(room);
  }

  // Moves the read marker to the newest event of the active room when the page is visible.
  markRead(room: number): void {
    const tl = this.timelines.get(room);
    const r = this.rooms.get(room);
    if (!tl || !r || document.visibilityState !== 'visible') return;
    r.unread = 0;
    r.mentions_unread = 0;
    if (tl.cursor > 0 && (this.readSent.get(room) ?? -1) < tl.cursor) {
      this.readSent.set(room, tl.cursor);
      if (!this.sendFrame({ type: 'read', room, seq: tl.cursor })) void api.read(room, tl.cursor).catch(() => {});
    }
  }

  // --- sending

  send(room: number, body: string, replyTo: number | null, attachments: Attachment[] = []): void {
    const tl = this.timelines.get(room);
    if (!tl) return;
    const client_id = crypto.randomUUID();
    addPending(tl, { client_id, body, attachments, reply_to: replyTo, created_at: new Date().toISOString(), acked: false });
    this.sendMessageFrame(room, client_id, body, replyTo, attachments);
    this.emit();
  }

  private sendMessageFrame(
    room: number,
    client_id: string,
    body: string,
    reply_to: number | null,
    attachments: Attachment[] = [],
  ): void {
    // If offline, it is resent after the next subscribe.
    this.sendFrame(sendFrame(room, client_id, body, reply_to, attachments));
  }

  // An attachment in state "scanning": ask for its state now and then until the scan is over,
  // then show the new state wherever the file appears (no event announces the end of a scan).
  watchScan(a: Attachment): void {
    if (a.state !== 'scanning' || this.scanWatch.has(a.id)) return;
    this.scanWatch.add(a.id);
    let attempt = 0;
    const stop = () => this.scanWatch.delete(a.id);
    const poll = () => {
      if (this.stopped) return stop();
      api
        .attachmentMeta(a.id)
        .then(({ attachment }) => {
          if (attachment.state === 'scanning') return next();
          stop();
          let changed = false;
          for (const tl of this.timelines.values()) changed = replaceAttachment(tl, attachment) || changed;
          if (changed) this.emit();
        })
        .catch((e) => (e instanceof ApiError && e.status !== 0 && e.status < 500 && e.status !== 429 ? stop() : next()));
    };
    const next = () => {
      if (attempt >= scanPollAttempts) return stop();
      setTimeout(poll, scanPollDelay(attempt++));
    };
    next();
  }

  typingIn(room: number): void {
    const now = Date.now();
    if (now - (this.lastTypingSent.get(room) ?? 0) < 3000) return;
    this.lastTypingSent.set(room, now);
    this.sendFrame({ type: 'typing', room });
  }

  setPresence(status: 'online' | 'away'): void {
    if (this.me && this.conn === 'online') this.presence.set(this.me.id, status);
    this.sendFrame({ type: 'presence', status });
  }

  typists(room: number): string[] {
    const now = Date.now();
    const m = this.typing.get(room);
    if (!m) return [];
    return [...m.entries()].filter(([u, t]) => t.until > now && u !== this.me?.id).map(([, t]) => t.username);
  }

  // --- WebSocket

  private sendFrame(frame: object): boolean {
    if (this.ws && this.conn === 'online' && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  private connect(): void {
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/ws`);
    this.ws = ws;
    let gotHello = false;
    ws.onmessage = (e) => {
      let f: any;
      try {
        f = JSON.parse(String(e.data));
      } catch {
        return;
      }
      if (f.type === 'hello') gotHello = true;
      this.onFrame(ws, f);
    };
    ws.onclose = (e: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      // 4401: the session ended (signed out elsewhere, revoked, expired, disabled): sign in again.
      if (e.code === SESSION_ENDED) {
        this.reset();
        return;
      }
      this.conn = 'reconnecting';
      if (this.me) this.presence.set(this.me.id, 'offline');
      this.emit();
      if (!gotHello) void this.checkSession();
      const delay = this.backoffMs * (0.5 + Math.random() * 0.5);
      this.backoffMs = Math.min(this.backoffMs * 2, 30000);
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    };
  }

  // A refused handshake hides its status from scripts: ask REST whether the session is gone.
  private async checkSession(): Promise<void> {
    try {
      await api.me();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) this.reset();
    }
  }

  private onFrame(ws: WebSocket, f: any): void {
    switch (f.type) {
      case 'hello':
        ws.send(JSON.stringify({ type: 'subscribe', id: 'sub', rooms: resumeCursors(this.timelines) }));
        break;
      case 'subscribed':
        this.conn = 'online';
        this.backoffMs = 500;
        if (this.me) this.presence.set(this.me.id, document.visibilityState === 'visible' ? 'online' : 'away');
        this.setPresence(document.visibilityState === 'visible' ? 'online' : 'away');
        for (const [room, tl] of this.timelines)
          for (const p of unackedSends(tl))
            this.sendMessageFrame(room, p.client_id, p.body, p.reply_to, p.attachments ?? []);
        break;
      case 'event':
        this.onEvent(f as RoomEvent);
        break;
      case 'ack': {
        const tl = this.timelines.get(f.room);
        if (tl) ackPending(tl, f.client_id);
        break;
      }
      case 'typing': {
        let m = this.typing.get(f.room);
        if (!m) this.typing.set(f.room, (m = new Map()));
        m.set(f.user, { username: f.username, until: Date.now() + typingTtlMs });
        setTimeout(() => this.emit(), typingTtlMs + 50);
        break;
      }
      case 'presence':
        this.presence.set(f.user, f.status);
        break;
      case 'error':
        this.onError(f);
        break;
      default:
        return;
    }
    this.emit();
  }

  private onError(f: any): void {
    for (const tl of this.timelines.values())
      for (const p of tl.pending) if (p.client_id === f.ref) p.failed = f.message || f.code;
    if (!f.ref) this.lastError = f.message ?? f.code;
  }

  private onEvent(ev: RoomEvent): void {
    let tl = this.timelines.get(ev.room);
    if (!tl) {
      // A room we were just added to: followed from this event on.
      tl = newTimeline(ev.seq - 1);
      this.timelines.set(ev.room, tl);
      void this.refreshRoom(ev.room);
    }
    const result = applyEvent(tl, ev);
    if (result === 'duplicate') return;
    const room = this.rooms.get(ev.room);
    const d = ev.data ?? {};
    if (room) room.last_seq = Math.max(room.last_seq, ev.seq);
    switch (ev.kind) {
      case 'message': {
        if (d.author_username) this.usernames.set(d.author, d.author_username);
        this.typing.get(ev.room)?.delete(d.author);
        const visible = this.active === ev.room && document.visibilityState === 'visible';
        if (room && d.author !== this.me?.id) {
          if (visible) this.markRead(ev.room);
          else {
            room.unread = (room.unread ?? 0) + 1;
            if ((d.mentions ?? []).includes(this.me?.username)) room.mentions_unread = (room.mentions_unread ?? 0) + 1;
          }
        }
        break;
      }
      case 'member_joined':
        if (d.username) this.usernames.set(d.user_id, d.username);
        if (room) room.member_count += d.user_id === this.me?.id ? 0 : 1;
        if (this.members.has(ev.room)) void this.loadMembers(ev.room).catch(() => {});
        if (d.user_id === this.me?.id) void this.refreshRoom(ev.room);
        break;
      case 'member_left':
        if (d.user_id === this.me?.id) this.dropRoom(ev.room);
        else if (this.members.has(ev.room)) void this.loadMembers(ev.room).catch(() => {});
        break;
      case 'role_changed':
        if (room && d.user_id === this.me?.id) room.my_role = d.role;
        if (this.members.has(ev.room)) void this.loadMembers(ev.room).catch(() => {});
        break;
      case 'topic_changed':
        if (room) room.topic = d.topic;
        break;
    }
    if (result === 'gap' && this.rooms.has(ev.room)) {
      // Not expected (the server's sequences are gapless); reload the newest page to be safe.
      void api.history(ev.room).then((p) => {
        const t = this.timelines.get(ev.room);
        if (t) mergeHistory(t, p.messages, p.next_before);
        this.emit();
      });
    }
  }
}

export const store = new Store();
