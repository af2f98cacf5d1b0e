// The composer's attachment logic: what may be sent, the send frame, sizes and paths.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Attachment } from '../src/types';
import {
  attachmentSummary,
  blockerHint,
  canSend,
  downloadPath,
  finishedAttachments,
  formatBytes,
  maxAttachmentsPerMessage,
  percent,
  sizeProblem,
  previewPath,
  scanPollAttempts,
  scanPollDelay,
  sendBlocker,
  sendFrame,
  type Upload,
  uploadFile,
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

  it('says why a message cannot be sent yet', () => {
    expect(sendBlocker('', [])).toBe('empty');
    expect(sendBlocker('hi', [up('done'), up('uploading', 2)])).toBe('uploading');
    expect(sendBlocker('', [up('uploading')])).toBe('uploading');
    const many = Array.from({ length: maxAttachmentsPerMessage + 1 }, (_, i) => up('done', i + 1));
    expect(sendBlocker('', many)).toBe('too_many');
    expect(sendBlocker('', [up('done')])).toBeNull();
    expect(blockerHint(null)).toBe('');
    expect(blockerHint('empty')).toBe('');
    expect(blockerHint('uploading')).toMatch(/uploads/);
    expect(blockerHint('too_many')).toBe('At most 10 files per message: remove some.');
  });

  it('summarises the files of a message without text', () => {
    expect(attachmentSummary(undefined)).toBe('');
    expect(attachmentSummary([])).toBe('');
    expect(attachmentSummary([att(1, { filename: '<b>x</b>.pdf' })])).toBe('📎 <b>x</b>.pdf');
    expect(attachmentSummary([att(1), att(2), att(3)])).toBe('📎 3 files');
  });

  it('polls a scan at 2 s, doubling to at most 30 s, a bounded number of times', () => {
    expect([0, 1, 2, 3, 4, 5, 30].map(scanPollDelay)).toEqual([2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    const total = Array.from({ length: scanPollAttempts }, (_, i) => scanPollDelay(i)).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(10 * 60 * 1000); // long enough for a busy scanner
    expect(total).toBeLessThan(30 * 60 * 1000); // but not forever
  });
});

// A stand-in XMLHttpRequest: records the request, lets the test drive progress and the answer.
class FakeXhr {
  static last: FakeXhr;
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: unknown;
  status = 0;
  responseText = '';
  withCredentials = false;
  aborted = false;
  upload: { onprogress: ((e: { loaded: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v;
  }
  send(body: unknown) {
    this.body = body;
  }
  abort() {
    this.aborted = true;
    this.onabort?.();
  }
  answer(status: number, json: unknown) {
    this.status = status;
    this.responseText = typeof json === 'string' ? json : JSON.stringify(json);
    this.onload?.();
  }
}

describe('uploadFile', () => {
  afterEach(() => vi.unstubAllGlobals());
  const file = () => new File([new Uint8Array([1, 2, 3, 4])], 'a b#?.png', { type: 'image/png' });

  it('posts the raw bytes as octet-stream with the name in the query, and reports progress', async () => {
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    const seen: number[] = [];
    const h = uploadFile(3, file(), (n) => seen.push(n));
    const x = FakeXhr.last;
    expect(x.method).toBe('POST');
    expect(x.url).toBe('/api/v1/rooms/3/attachments?filename=a%20b%23%3F.png');
    expect(x.headers['Content-Type']).toBe('application/octet-stream');
    expect(x.body).toBeInstanceOf(File);
    x.upload.onprogress!({ loaded: 2 });
    x.upload.onprogress!({ loaded: 4 });
    expect(seen).toEqual([2, 4]);
    x.answer(201, { attachment: att(9) });
    expect((await h.done).id).toBe(9);
  });

  it("rejects with the server's error code and message", async () => {
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    const h = uploadFile(3, file(), () => {});
    FakeXhr.last.answer(507, { error: { code: 'quota_exceeded', message: 'storage quota exceeded' } });
    await expect(h.done).rejects.toMatchObject({ status: 507, code: 'quota_exceeded', message: 'storage quota exceeded' });
    const h2 = uploadFile(3, file(), () => {});
    FakeXhr.last.answer(413, { error: { code: 'payload_too_large', message: 'file larger than 100 bytes' } });
    await expect(h2.done).rejects.toMatchObject({ status: 413, message: 'file larger than 100 bytes' });
    const h3 = uploadFile(3, file(), () => {});
    FakeXhr.last.answer(502, '<html>bad gateway</html>');
    await expect(h3.done).rejects.toMatchObject({ status: 502, code: 'internal', message: 'HTTP 502' });
  });

  it('tells a dropped connection from a cancel', async () => {
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    const h = uploadFile(3, file(), () => {});
    FakeXhr.last.onerror!();
    await expect(h.done).rejects.toMatchObject({ code: 'unavailable' });
    const h2 = uploadFile(3, file(), () => {});
    h2.abort();
    expect(FakeXhr.last.aborted).toBe(true);
    await expect(h2.done).rejects.toMatchObject({ code: 'aborted' });
  });
});

describe('sizeProblem', () => {
  it('refuses only files over the known limit, and names the limit', () => {
    expect(sizeProblem(100, 100)).toBeNull();
    expect(sizeProblem(0, 100)).toBeNull();
    expect(sizeProblem(101, 100)).toBe("larger than the server's limit of 100 B");
    expect(sizeProblem(200 * 1024 * 1024, 100 * 1024 * 1024)).toBe("larger than the server's limit of 100 MB");
  });
  it('lets everything through while the limit is unknown (the server still refuses)', () => {
    expect(sizeProblem(Number.MAX_SAFE_INTEGER, null)).toBeNull();
  });
});
