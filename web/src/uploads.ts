// Attachments in the composer: the upload list, what may be sent, and the upload request
// itself (XMLHttpRequest: fetch cannot report upload progress). docs/protocol.md "Attachments".
import { ApiError } from './api';
import type { Attachment } from './types';

export const maxAttachmentsPerMessage = 10;

export interface Upload {
  key: string; // local id
  name: string;
  size: number;
  sent: number; // bytes uploaded so far
  state: 'uploading' | 'done' | 'failed';
  error?: string;
  attachment?: Attachment;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

// Why a file is refused before upload, or null: the server's size limit is known up front
// (GET /me/storage), so a file over it fails at once instead of after sending it.
export function sizeProblem(size: number, maxFileBytes: number | null): string | null {
  if (maxFileBytes === null || size <= maxFileBytes) return null;
  return `larger than the server's limit of ${formatBytes(maxFileBytes)}`;
}

export function percent(u: Upload): number {
  if (u.state === 'done') return 100;
  return u.size > 0 ? Math.min(100, Math.floor((u.sent / u.size) * 100)) : 0;
}

export function uploadPath(room: number, filename: string): string {
  return `/api/v1/rooms/${encodeURIComponent(String(room))}/attachments?filename=${encodeURIComponent(filename)}`;
}

export function downloadPath(a: Attachment, forceDownload = false): string {
  return `/api/v1/attachments/${encodeURIComponent(String(a.id))}${forceDownload ? '?download=1' : ''}`;
}

// What an image preview shows: the thumbnail once the worker made one, else the image.
export function previewPath(a: Attachment): string {
  return a.thumbnail ? `/api/v1/attachments/${encodeURIComponent(String(a.id))}/thumbnail` : downloadPath(a);
}

// Why the composer cannot send yet, or null when it can: it needs some text or at least one
// finished upload, nothing still uploading (the files go with this message), within the limit.
export type SendBlocker = 'empty' | 'uploading' | 'too_many';

export function sendBlocker(text: string, uploads: Upload[]): SendBlocker | null {
  if (uploads.some((u) => u.state === 'uploading')) return 'uploading';
  const done = uploads.filter((u) => u.state === 'done').length;
  if (done > maxAttachmentsPerMessage) return 'too_many';
  return text.trim().length > 0 || done > 0 ? null : 'empty';
}

export function canSend(text: string, uploads: Upload[]): boolean {
  return sendBlocker(text, uploads) === null;
}

// What to tell someone who pressed Enter while sending is blocked ('' = nothing to say).
export function blockerHint(b: SendBlocker | null): string {
  if (b === 'uploading') return 'The message waits for the uploads: send when they are done, or remove them.';
  if (b === 'too_many') return `At most ${maxAttachmentsPerMessage} files per message: remove some.`;
  return '';
}

// A one-line stand-in for a message in reply quotes: its text, or its files when it has none.
export function attachmentSummary(list: Attachment[] | undefined): string {
  if (!list || list.length === 0) return '';
  return list.length === 1 ? `📎 ${list[0].filename}` : `📎 ${list.length} files`;
}

// While a file is being scanned for malware its state is polled (no event tells the room when
// the scan ends): 2 s, doubling to 30 s, at most scanPollAttempts times.
export const scanPollAttempts = 40;
export function scanPollDelay(attempt: number): number {
  return Math.min(2000 * 2 ** Math.min(attempt, 10), 30000);
}

export function finishedAttachments(uploads: Upload[]): Attachment[] {
  return uploads.filter((u) => u.state === 'done' && u.attachment).map((u) => u.attachment!);
}

// The WebSocket send frame (attachments only when there are some).
export function sendFrame(
  room: number,
  client_id: string,
  body: string,
  reply_to: number | null,
  attachments: Attachment[] = [],
): Record<string, unknown> {
  const frame: Record<string, unknown> = { type: 'send', id: client_id, room, client_id, body };
  if (reply_to) frame.reply_to = reply_to;
  if (attachments.length > 0) frame.attachments = attachments.map((a) => a.id);
  return frame;
}

export interface UploadHandle {
  done: Promise<Attachment>;
  abort: () => void;
}

// Streams one file to the server; onProgress gets the bytes sent so far.
export function uploadFile(room: number, file: File, onProgress: (sent: number) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<Attachment>((resolve, reject) => {
    xhr.open('POST', uploadPath(room, file.name || 'file'));
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      let json: any = null;
      try {
        json = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status === 201 && json?.attachment) resolve(json.attachment as Attachment);
      else reject(new ApiError(xhr.status, json?.error?.code ?? 'internal', json?.error?.message ?? `HTTP ${xhr.status}`));
    };
    xhr.onerror = () => reject(new ApiError(0, 'unavailable', 'The upload was interrupted.'));
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'Upload cancelled.'));
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
