// The composer's attachment logic: what may be sent, the send frame, sizes and paths.
import { describe, expect, it } from 'vitest';
import type { Attachment } from '../src/types';
import {
  canSend,
  downloadPath,
  finishedAttachments,
  formatBytes,
  maxAttachmentsPerMessage,
  percent,
  previewPath,
  sendFrame,
  type Upload,
  uploadPath,
} from '../src/uploads';

function att(id: number, extra: Partial<Attachment> = {}): Attachment {
  return {
    id, room: 1, uploader: 1, filename: `f${id}.png`, content_type: 'image/png', size: 10, sha256: 'x'.repeat(64),
    created_at: '2026-11-24T07:00:00Z', message_id: null, state: 'ready', inline: true, thumbnail: false, ...extra,
  };
}
function up(state: Upload['state'], id = 1, sent = 0, size = 100): Upload {
  return { key: `k${id}`, name: `f${id}`, size, sent, state, attachment: state === 'done' ? att(id) : undefined };
}

describe('uploads', () => {
  it('sends text, finished files, or both; never while a file is still uploading', () => {
    expect(canSend('', [])).toBe(false);
    expect(canSend('  \n', [])).toBe(false);
    expect(canSend('hi', [])).toBe(true);
    expect(canSend('', [up('done')])).toBe(true);
    expect(canSend('hi', [up('done'), up('uploading', 2)])).toBe(false);
    expect(canSend('', [up('failed')])).toBe(false);
    expect(canSend('hi', [up('failed')])).toBe(true); // a failed upload is not sent, the text is
    const many = Array.from({ length: maxAttachmentsPerMessage + 1 }, (_, i) => up('done', i + 1));
    expect(canSend('x', many)).toBe(false);
    expect(canSend('x', many.slice(1))).toBe(true);
  });

  it('puts only finished uploads into the message, by id', () => {
    const list = [up('done', 1), up('failed', 2), up('uploading', 3), up('done', 4)];
    expect(finishedAttachments(list).map((a) => a.id)).toEqual([1, 4]);
    expect(sendFrame(5, 'c-1', '', null, finishedAttachments(list))).toEqual({
      type: 'send', id: 'c-1', room: 5, client_id: 'c-1', body: '', attachments: [1, 4],
    });
    expect(sendFrame(5, 'c-2', 'hi', 9)).toEqual({ type: 'send', id: 'c-2', room: 5, client_id: 'c-2', body: 'hi', reply_to: 9 });
  });

  it('reports progress and human sizes', () => {
    expect(percent(up('uploading', 1, 0, 100))).toBe(0);
    expect(percent(up('uploading', 1, 55, 100))).toBe(55);
    expect(percent(up('uploading', 1, 500, 100))).toBe(100);
    expect(percent(up('uploading', 1, 0, 0))).toBe(0);
    expect(percent(up('done'))).toBe(100);
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(100 * 1024 * 1024)).toBe('100 MB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GB');
  });

  it('builds paths with every user-controlled part encoded', () => {
    expect(uploadPath(3, '../a b&c=d#e.png')).toBe('/api/v1/rooms/3/attachments?filename=..%2Fa%20b%26c%3Dd%23e.png');
    expect(downloadPath(att(7))).toBe('/api/v1/attachments/7');
    expect(downloadPath(att(7), true)).toBe('/api/v1/attachments/7?download=1');
    expect(previewPath(att(7))).toBe('/api/v1/attachments/7');
    expect(previewPath(att(7, { thumbnail: true }))).toBe('/api/v1/attachments/7/thumbnail');
  });
});
