// Files in the room view: the attachments of a message (image previews and download links)
// and the composer's uploads (progress, remove). Filenames are user content: always text
// nodes or attribute values, never markup. docs/protocol.md "Attachments".
import { useEffect, useState } from 'preact/hooks';
import type { Attachment } from './types';
import { downloadPath, formatBytes, percent, previewPath, type Upload } from './uploads';

// An image that finishes loading grows its message: stay at the bottom if the reader was there.
function keepBottom(e: Event) {
  const img = e.currentTarget as HTMLImageElement;
  const list = img.closest('.messages');
  if (list && list.scrollHeight - list.scrollTop - list.clientHeight < img.height + 80) list.scrollTop = list.scrollHeight;
}

// The thumbnail when the worker made one, else the image itself; if the thumbnail cannot be
// had, the image; if that fails too, no preview (the download link stays).
function Preview({ a }: { a: Attachment }) {
  const [broken, setBroken] = useState<string[]>([]);
  const src = [previewPath(a), downloadPath(a)].find((s) => !broken.includes(s));
  if (!src) return null;
  return (
    <a href={downloadPath(a)} target="_blank" rel="noopener noreferrer" class="preview-link" aria-label={`Open image ${a.filename}`}>
      <img
        class="preview"
        src={src}
        alt={a.filename}
        loading="lazy"
        decoding="async"
        onLoad={keepBottom}
        onError={() => setBroken((b) => [...b, src])}
      />
    </a>
  );
}

// Files of a message. Previews only for what the server marks inline (PNG, JPEG, GIF, WebP:
// never SVG). A file still being scanned has no link yet; a rejected one never gets one.
export function AttachmentList({ list, onScanning }: { list: Attachment[]; onScanning?: (a: Attachment) => void }) {
  useEffect(() => {
    if (onScanning) for (const a of list) if (a.state === 'scanning') onScanning(a);
  }, [list.map((a) => `${a.id}:${a.state}`).join(',')]);
  return (
    <ul class="attachments" aria-label="Attachments">
      {list.map((a) => (
        <li key={a.id} class={'attachment ' + a.state}>
          {a.state === 'scanning' ? (
            <span class="file muted">
              📎 {a.filename} <span class="size">{formatBytes(a.size)}</span> <em>scanning…</em>
            </span>
          ) : a.state === 'rejected' ? (
            <span class="file muted">
              📎 <del>{a.filename}</del> <em>removed: the malware scan flagged it</em>
            </span>
          ) : (
            <>
              {a.inline && <Preview a={a} />}
              <span class="file">
                <a class="file-link" href={downloadPath(a, true)} download={a.filename}>
                  📎 {a.filename}
                </a>{' '}
                <span class="muted size">{formatBytes(a.size)}</span>
              </span>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

// The composer's files: name, size, a progress bar while uploading, the server's refusal if
// any, and a button to remove each (which cancels the upload or deletes the stored file).
export function UploadList(props: { uploads: Upload[]; hint: string; onRemove: (u: Upload) => void }) {
  const { uploads, hint } = props;
  if (uploads.length === 0 && !hint) return null;
  return (
    <div class="uploads-box">
      <ul class="uploads" aria-label="Files to send">
        {uploads.map((u) => (
          <li key={u.key} class={'upload ' + u.state}>
            <span class="upload-name" title={u.name}>
              {u.name}
            </span>{' '}
            <span class="muted size">{formatBytes(u.size)}</span>
            {u.state === 'uploading' && (
              <>
                <progress max={100} value={percent(u)} aria-label={`Uploading ${u.name}`} aria-valuenow={percent(u)} />
                <span class="muted percent" aria-hidden="true">
                  {percent(u)}%
                </span>
              </>
            )}
            {u.state === 'done' && (
              <span class="upload-done" role="img" aria-label="uploaded">
                ✓
              </span>
            )}
            {u.state === 'failed' && (
              <span class="error-text" role="alert">
                {u.error}
              </span>
            )}
            <button type="button" class="remove" aria-label={`Remove ${u.name}`} title="Remove" onClick={() => props.onRemove(u)}>
              ×
            </button>
          </li>
        ))}
      </ul>
      {hint && (
        <p class="error-text upload-hint" role="status">
          {hint}
        </p>
      )}
    </div>
  );
}
