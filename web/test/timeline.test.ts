// Resume and dedup: replays after a reconnect, history pages overlapping live events and
// retried sends never duplicate or lose a message.
import { describe, expect, it } from 'vitest';
import {
  ackPending,
  addPending,
  applyEvent,
  mergeHistory,
  newTimeline,
  replaceAttachment,
  resumeCursors,
  unackedSends,
} from '../src/timeline';
import type { Attachment, Message, RoomEvent } from '../src/types';

function msg(id: number, seq: number, body = `m${id}`, client_id = `c${id}`): Message {
  return {
    id, room: 1, seq, author: 1, author_username: 'alice', client_id, body, reply_to: null,
    created_at: '2026-11-23T21:00:00.000000Z', edited_at: null, deleted: false, mentions: [], reactions: [],
  };
}
function ev(seq: number, kind: string, data: any): RoomEvent {
  return { type: 'event', room: 1, seq, kind, actor: 1, at: '2026-11-23T21:00:00Z', data };
}
const ids = (tl: { messages: Message[] }) => tl.messages.map((m) => m.id);

describe('timeline', () => {
  it('applies events in order and ignores replays at or below the cursor', () => {
    const tl = newTimeline(0);
    expect(applyEvent(tl, ev(1, 'message', msg(10, 1)))).toBe('applied');
    expect(applyEvent(tl, ev(2, 'message', msg(11, 2)))).toBe('applied');
    // Reconnect: the server replays from the cursor we sent; an overlapping replay is dropped.
    expect(applyEvent(tl, ev(2, 'message', msg(11, 2)))).toBe('duplicate');
    expect(applyEvent(tl, ev(1, 'message', msg(10, 1)))).toBe('duplicate');
    expect(applyEvent(tl, ev(3, 'message', msg(12, 3)))).toBe('applied');
    expect(ids(tl)).toEqual([10, 11, 12]);
    expect(tl.cursor).toBe(3);
    expect(resumeCursors(new Map([[1, tl]]))).toEqual({ '1': 3 });
  });

  it('reports a gap but still applies the event', () => {
    const tl = newTimeline(5);
    expect(applyEvent(tl, ev(8, 'message', msg(20, 8)))).toBe('gap');
    expect(tl.cursor).toBe(8);
    expect(ids(tl)).toEqual([20]);
  });

  it('merges history pages that overlap live events without duplicates, in seq order', () => {
    const tl = newTimeline(40);
    applyEvent(tl, ev(41, 'message', msg(5, 41)));
    applyEvent(tl, ev(42, 'message_edited', { message_id: 5, body: 'edited', edited_at: 'x' }));
    // The newest page contains message 5 in its old state plus older messages.
    mergeHistory(tl, [msg(3, 38), msg(4, 39), msg(5, 41, 'm5')], 38);
    expect(ids(tl)).toEqual([3, 4, 5]);
    expect(tl.messages[2].body).toBe('edited'); // the live state wins over the older page
    mergeHistory(tl, [msg(1, 30), msg(2, 31), msg(3, 38)], null);
    expect(ids(tl)).toEqual([1, 2, 3, 4, 5]);
    expect(tl.nextBefore).toBeNull();
    expect(tl.cursor).toBe(42); // history never moves the cursor
  });

  it('applies edits, deletes and reactions idempotently', () => {
    const tl = newTimeline(0);
    applyEvent(tl, ev(1, 'message', msg(1, 1)));
    applyEvent(tl, ev(2, 'reaction_added', { message_id: 1, user_id: 2, emoji: '👍' }));
    applyEvent(tl, ev(3, 'reaction_added', { message_id: 1, user_id: 3, emoji: '👍' }));
    expect(tl.messages[0].reactions).toEqual([{ emoji: '👍', users: [2, 3] }]);
    applyEvent(tl, ev(4, 'reaction_removed', { message_id: 1, user_id: 2, emoji: '👍' }));
    applyEvent(tl, ev(4, 'reaction_removed', { message_id: 1, user_id: 3, emoji: '👍' })); // replayed seq: ignored
    expect(tl.messages[0].reactions).toEqual([{ emoji: '👍', users: [3] }]);
    applyEvent(tl, ev(5, 'message_edited', { message_id: 1, body: 'new', edited_at: 't' }));
    expect(tl.messages[0].body).toBe('new');
    applyEvent(tl, ev(6, 'message_deleted', { message_id: 1 }));
    expect(tl.messages[0]).toMatchObject({ deleted: true, body: '', reactions: [] });
  });

  it('keeps an unacknowledged send for resending and drops it when its event arrives', () => {
    const tl = newTimeline(0);
    addPending(tl, { client_id: 'a-1', body: 'hi', reply_to: null, created_at: '', acked: false });
    addPending(tl, { client_id: 'a-1', body: 'hi', reply_to: null, created_at: '', acked: false });
    expect(tl.pending.length).toBe(1);
    // The connection dropped before the ack: resend with the same client_id.
    expect(unackedSends(tl).map((p) => p.client_id)).toEqual(['a-1']);
    ackPending(tl, 'a-1');
    expect(unackedSends(tl)).toEqual([]);
    expect(tl.pending.length).toBe(1); // shown until the message event comes
    applyEvent(tl, ev(1, 'message', msg(7, 1, 'hi', 'a-1')));
    expect(tl.pending).toEqual([]);
    expect(ids(tl)).toEqual([7]);
    // A replay of the same message after a reconnect does not show it twice.
    applyEvent(tl, ev(1, 'message', msg(7, 1, 'hi', 'a-1')));
    mergeHistory(tl, [msg(7, 1, 'hi', 'a-1')], null);
    expect(ids(tl)).toEqual([7]);
  });

  it('survives a simulated reconnect with a random overlap', () => {
    const all: RoomEvent[] = [];
    for (let s = 1; s <= 200; s++) all.push(ev(s, 'message', msg(s, s)));
    const tl = newTimeline(0);
    let delivered = 0;
    let rng = 7;
    while (tl.cursor < 200) {
      // The connection delivers a few events, drops, and the server replays from the cursor
      // (plus, to be hostile, re-sends some it had already sent).
      const from = Math.max(0, tl.cursor - (rng % 5));
      rng = (rng * 1103515245 + 12345) % 2147483648;
      const n = 1 + (rng % 17);
      for (const e of all.slice(from, from + n)) applyEvent(tl, e);
      delivered += n;
    }
    expect(delivered).toBeGreaterThan(200);
    expect(ids(tl)).toEqual(all.map((e) => e.seq));
  });

  it('replaces an attachment whose scan ended wherever it appears, and nothing else', () => {
    const file = (id: number, state: Attachment['state']): Attachment => ({
      id, room: 1, uploader: 1, filename: `f${id}`, content_type: 'application/pdf', size: 1, sha256: '0'.repeat(64),
      created_at: '2026-11-23T21:00:00Z', message_id: 10, state, inline: false, thumbnail: false,
    });
    const tl = newTimeline(0);
    mergeHistory(tl, [{ ...msg(10, 1), attachments: [file(1, 'scanning'), file(2, 'ready')] }, msg(11, 2)], null);
    addPending(tl, { client_id: 'p', body: '', attachments: [file(1, 'scanning')], reply_to: null, created_at: '', acked: true });
    const untouched = tl.messages[1];
    const before = tl.messages[0];
    expect(replaceAttachment(tl, file(1, 'ready'))).toBe(true);
    expect(tl.messages[0].attachments!.map((a) => a.state)).toEqual(['ready', 'ready']);
    expect(tl.messages[0]).not.toBe(before); // a new object, so views see the change
    expect(before.attachments![0].state).toBe('scanning');
    expect(tl.messages[1]).toBe(untouched);
    expect(tl.pending[0].attachments![0].state).toBe('ready');
    expect(replaceAttachment(tl, file(99, 'rejected'))).toBe(false);
    expect(ids(tl)).toEqual([10, 11]);
  });
});
